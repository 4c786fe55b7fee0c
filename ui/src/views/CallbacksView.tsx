export function CallbacksView() {
  return null;
}
