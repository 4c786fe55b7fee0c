export function AlignmentView() {
  return null;
}
