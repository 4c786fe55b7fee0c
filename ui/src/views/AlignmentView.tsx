import { useParams } from "@tanstack/react-router";
import { ClassHeader } from "./ClassView";

export function AlignmentView() {
  const { classId } = useParams({ strict: false }) as { classId: string };
  return (
    <>
      <ClassHeader classId={classId} tab="alignment" />
      <p className="empty">The alignment view comes with the alignment engine.</p>
    </>
  );
}
