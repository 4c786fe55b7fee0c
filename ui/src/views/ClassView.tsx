export function ClassView() {
  return null;
}
