import { useState } from "preact/hooks";
import { arm, ApiError, toApiError } from "../../lib/api";
import { Button } from "../../components/button";
import { ErrorBox } from "../../components/error-box";
import { WizardFooter, WizardSteps } from "../../components/wizard-steps";
import { ACTION_GROUPS_API } from "./monitor-api";

/**
 * "Create an action group" (portal.md §1.7): Basics (Resource group, Action group name, Display name, at most
 * 12 characters), Notifications (Email/SMS/Push/Voice → Email), Actions (Webhook, with the common alert schema),
 * Review + create → Create = ARM PUT microsoft.insights/actionGroups/{name} in "Global".
 */
const STEPS = ["Basics", "Notifications", "Actions", "Review + create"] as const;
const last = (id: string) => id.split("/").filter(Boolean).pop() ?? id;

export function ActionGroupWizard({ rgs, onDone }: { rgs: string[]; onDone: (made?: string) => void }) {
  const [step, setStep] = useState(0);
  const [rg, setRg] = useState(rgs[0] ?? "");
  const [name, setName] = useState("");
  const [short, setShort] = useState("");
  const [emailName, setEmailName] = useState("");
  const [email, setEmail] = useState("");
  const [hookName, setHookName] = useState("");
  const [hookUri, setHookUri] = useState("");
  const [common, setCommon] = useState(true);
  const [error, setError] = useState<ApiError | undefined>();

  const blocker =
    step === 0 && (!rg || !name.trim() || !short.trim())
      ? "Enter a resource group, an action group name and a display name."
      : step === 0 && short.length > 12
        ? "The display name is limited to 12 characters."
        : step === 1 && !!email !== !!emailName
          ? "Enter both a name and an email address, or neither."
          : step === 2 && !!hookUri !== !!hookName
            ? "Enter both a name and a URI, or neither."
            : "";

  const body = () => ({
    location: "Global",
    properties: {
      groupShortName: short,
      enabled: true,
      emailReceivers: email ? [{ name: emailName, emailAddress: email, useCommonAlertSchema: common }] : [],
      webhookReceivers: hookUri ? [{ name: hookName, serviceUri: hookUri, useCommonAlertSchema: common }] : [],
    },
  });
  const create = async () => {
    setError(undefined);
    try {
      await arm("PUT", `${rg}/providers/Microsoft.Insights/actionGroups/${encodeURIComponent(name)}?api-version=${ACTION_GROUPS_API}`, body());
      onDone(name);
    } catch (err) {
      setError(toApiError(err));
    }
  };
  const input = (id: string, label: string, value: string, set: (v: string) => void, extra: Record<string, unknown> = {}) => (
    <div class="field">
      <label for={id}>{label}</label>
      <input class="input" id={id} value={value} onInput={(e) => set((e.target as HTMLInputElement).value)} {...extra} />
    </div>
  );

  return (
    <section class="panel wizard" aria-labelledby="agw-title">
      <h3 id="agw-title">Create an action group</h3>
      <WizardSteps steps={STEPS} step={step} blocked={!!blocker} onStep={setStep} />
      {step === 0 && (
        <div>
          <h5>Project details</h5>
          <div class="field">
            <label for="agw-rg">Resource group</label>
            <select class="input" id="agw-rg" value={rg} onChange={(e) => setRg((e.target as HTMLSelectElement).value)}>
              {rgs.map((g) => (
                <option key={g} value={g}>
                  {last(g)}
                </option>
              ))}
            </select>
          </div>
          <h5>Instance details</h5>
          {input("agw-name", "Action group name", name, setName)}
          {input("agw-short", "Display name", short, setShort, { maxLength: 12, "aria-describedby": "agw-short-hint" })}
          <p id="agw-short-hint" class="field-hint">
            Used in place of a full action group name when notifications are sent. At most 12 characters.
          </p>
        </div>
      )}
      {step === 1 && (
        <fieldset>
          <legend>Notification type: Email/SMS/Push/Voice</legend>
          {input("agw-email-name", "Name", emailName, setEmailName)}
          {input("agw-email", "Email", email, setEmail, { type: "email" })}
          <p class="field-hint">tdekv sends email through the SMTP server given with --smtp-url; without one the message is kept in the Notifications inbox.</p>
        </fieldset>
      )}
      {step === 2 && (
        <fieldset>
          <legend>Action type: Webhook</legend>
          {input("agw-hook-name", "Name", hookName, setHookName)}
          {input("agw-hook-uri", "URI", hookUri, setHookUri, { type: "url" })}
          <label class="check">
            <input type="checkbox" checked={common} onChange={(e) => setCommon((e.target as HTMLInputElement).checked)} /> Enable the common alert schema
          </label>
        </fieldset>
      )}
      {step === 3 && (
        <dl class="essentials">
          {(
            [
              ["Resource group", last(rg)],
              ["Action group name", name],
              ["Display name", short],
              ["Email", email ? `${emailName}: ${email}` : "None"],
              ["Webhook", hookUri ? `${hookName}: ${hookUri}` : "None"],
              ["Common alert schema", common ? "Enabled" : "Disabled"],
            ] as [string, string][]
          ).map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      )}
      <WizardFooter
        steps={STEPS}
        step={step}
        blocker={blocker || undefined}
        idPrefix="agw"
        onStep={setStep}
        finish={
          <Button kind="primary" onClick={create} busyText="Creating…">
            Create
          </Button>
        }
        onCancel={() => onDone()}
      >
        {error && <ErrorBox error={error} title="The action group could not be created" />}
      </WizardFooter>
    </section>
  );
}
