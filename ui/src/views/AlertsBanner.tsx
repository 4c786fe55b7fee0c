export function AlertsBanner() {
  return null;
}
