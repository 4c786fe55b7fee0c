export function ReportsView() {
  return null;
}
