import { useEffect, useRef } from "preact/hooks";
import type { JSX } from "preact";

/**
 * The numbered step list and step heading of Azure's create wizards ("Create an access policy", "Create an
 * action group": portal.md §1.4, §1.7). A step ahead of the current one is reachable only when nothing blocks
 * it. When the step changes, focus moves to the new step's heading so a keyboard or screen-reader user lands
 * on it; not on the first render, where the opener's button keeps focus.
 */
export function WizardSteps({ steps, step, blocked, onStep }: { steps: readonly string[]; step: number; blocked: boolean; onStep: (i: number) => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) first.current = false;
    else heading.current?.focus();
  }, [step]);
  return (
    <>
      <ol class="steps">
        {steps.map((s, i) => (
          <li key={s}>
            <button type="button" class="step" aria-current={i === step ? "step" : undefined} disabled={i > step && blocked} onClick={() => onStep(i)}>
              <span aria-hidden="true">{i + 1}</span> {s}
            </button>
          </li>
        ))}
      </ol>
      <h4 ref={heading} tabIndex={-1} class="step-heading">
        {steps[step]}
      </h4>
    </>
  );
}

/**
 * The wizard's footer: why the next step is blocked (linked to "Next" with aria-describedby), Previous, Next
 * or the final action on the last step, and Cancel.
 */
export function WizardFooter({ steps, step, blocker, idPrefix, onStep, finish, onCancel, children }: {
  steps: readonly string[];
  step: number;
  blocker?: string;
  idPrefix: string;
  onStep: (i: number) => void;
  /** The last step's primary button (e.g. "Create"). */
  finish: JSX.Element;
  onCancel: () => void;
  /** Shown between the blocker and the buttons (the create call's error). */
  children?: JSX.Element | false;
}) {
  const blockerId = `${idPrefix}-blocker`;
  return (
    <>
      {blocker && <p class="field-hint" id={blockerId}>{blocker}</p>}
      {children}
      <div class="actions">
        {step > 0 && (
          <button type="button" class="btn btn-secondary" onClick={() => onStep(step - 1)}>
            Previous
          </button>
        )}
        {step < steps.length - 1 ? (
          <button type="button" class="btn btn-primary" disabled={!!blocker} aria-describedby={blocker ? blockerId : undefined} onClick={() => onStep(step + 1)}>
            Next
          </button>
        ) : (
          finish
        )}
        <button type="button" class="btn btn-secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </>
  );
}
