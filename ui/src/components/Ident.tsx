// A stored identifier (uid, class id, target, search text) that may be very long: shown on
// one line, cut with an ellipsis where it does not fit, the whole value on hover, and
// copied whole when selected. It never widens the page.

import "./extras.css";

export function Ident({ value, className = "", testId }: { value: string; className?: string; testId?: string }) {
  return (
    <span className={`ident-trunc mono ${className}`} title={value} data-testid={testId}>
      {value}
    </span>
  );
}
