// The pages shown without a session: after "Sign out", and when sign-in itself failed.
import { Button, ErrorBox } from "../../components";
import { ApiError } from "../../lib/api";
import { signIn } from "../../lib/auth";

export function SignedOut() {
  return (
    <main id="main" class="solo">
      <h1>You signed out of tdekv portal</h1>
      <p>Your tokens were discarded from this tab.</p>
      <Button kind="primary" onClick={() => signIn()}>
        Sign in
      </Button>
    </main>
  );
}

export function SignInProblem({ error }: { error: unknown }) {
  const e = error as { code?: string; message?: string };
  return (
    <main id="main" class="solo">
      <h1>Sign-in failed</h1>
      <ErrorBox error={new ApiError(0, e.code ?? "Error", e.message ?? String(error), undefined)} title="tdekv's sign-in answered with an error" />
      <Button kind="primary" onClick={() => signIn()}>
        Sign in again
      </Button>
    </main>
  );
}
