// An API failure, with Azure's error code and message verbatim (issue 9 §5; a vault 403 is never hidden, §1).
import { toApiError } from "../lib/api";

export function ErrorBox({ error, title = "The request failed" }: { error: unknown; title?: string }) {
  const e = toApiError(error);
  return (
    <div class="error-box" role="alert">
      <p class="error-title">
        <span aria-hidden="true">✕ </span>
        {title}
        {e.status ? ` (HTTP ${e.status})` : ""}
      </p>
      <p class="error-code">
        Code: <code>{e.code}</code>
        {e.innerCode && e.innerCode !== e.code ? (
          <>
            {" "}
            (<code>{e.innerCode}</code>)
          </>
        ) : null}
      </p>
      <p class="error-message">{e.message}</p>
      {e.requestId ? <p class="error-request">Request ID: <code>{e.requestId}</code></p> : null}
    </div>
  );
}
