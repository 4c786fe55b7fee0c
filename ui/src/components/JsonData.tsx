// A message's `Data`: pretty (a JSON tree, react-json-view-lite, text only) and raw (the
// exact characters sent).

import { JsonView, allExpanded, defaultStyles } from "react-json-view-lite";
import "react-json-view-lite/dist/index.css";

const style = {
  ...defaultStyles,
  container: "json-view",
  label: "json-label",
  stringValue: "json-string",
  numberValue: "json-number",
  booleanValue: "json-boolean",
  nullValue: "json-null",
  punctuation: "json-punct",
};

export function JsonData({ text, testId }: { text: string; testId?: string }) {
  let parsed: unknown = undefined;
  let ok = false;
  try {
    parsed = JSON.parse(text);
    ok = typeof parsed === "object" && parsed !== null;
  } catch {
    ok = false;
  }
  return (
    <div data-testid={testId}>
      <h4>Pretty</h4>
      {ok ? (
        <JsonView data={parsed as object} shouldExpandNode={allExpanded} style={style} />
      ) : (
        <p className="hint">Not a JSON object; see the raw text.</p>
      )}
      <h4>Raw</h4>
      <pre className="block" data-testid={testId ? `${testId}-raw` : undefined}>
        {text}
      </pre>
    </div>
  );
}
