export function ClassesView() {
  return null;
}
