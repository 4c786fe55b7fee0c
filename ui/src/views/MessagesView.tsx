import { MessageLog } from "../components/MessageLog";

export function MessagesView() {
  return (
    <>
      <h1>Messages across classes</h1>
      <MessageLog classId={null} />
    </>
  );
}
