// Form controls: a <label> on every control, hints and errors tied with aria-describedby (portal.md §4.3).
import type { ComponentChildren, JSX } from "preact";
import { useId } from "preact/hooks";

export interface FieldIds {
  id: string;
  describedBy: string | undefined;
  invalid: boolean;
}

/** A labelled field around any control; the control takes `ids.id` and `aria-describedby={ids.describedBy}`. */
export function Field({ label, hint, error, children }: { label: ComponentChildren; hint?: ComponentChildren; error?: string; children: (ids: FieldIds) => ComponentChildren }) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : "";
  const errId = error ? `${id}-err` : "";
  const describedBy = [errId, hintId].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`field${error ? " field-invalid" : ""}`}>
      <label for={id}>{label}</label>
      {hint ? (
        <p id={hintId} class="field-hint">
          {hint}
        </p>
      ) : null}
      {children({ id, describedBy, invalid: !!error })}
      {error ? (
        <p id={errId} class="field-error">
          <span aria-hidden="true">✕ </span>
          {error}
        </p>
      ) : null}
    </div>
  );
}

type InputProps = Omit<JSX.HTMLAttributes<HTMLInputElement>, "label" | "onInput" | "value"> & {
  label: ComponentChildren;
  value: string;
  onValue: (v: string) => void;
  hint?: ComponentChildren;
  error?: string;
};

export function TextInput({ label, value, onValue, hint, error, ...rest }: InputProps) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(ids) => (
        <input
          {...rest}
          id={ids.id}
          class="input"
          value={value}
          aria-describedby={ids.describedBy}
          aria-invalid={ids.invalid || undefined}
          onInput={(e) => onValue((e.currentTarget as HTMLInputElement).value)}
        />
      )}
    </Field>
  );
}

export interface Option {
  value: string;
  label: string;
  disabled?: boolean;
}

export function Select({ label, value, options, onValue, hint, error, disabled, placeholder }: { label: ComponentChildren; value: string; options: Option[]; onValue: (v: string) => void; hint?: ComponentChildren; error?: string; disabled?: boolean; placeholder?: string }) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(ids) => (
        <select
          id={ids.id}
          class="input"
          value={value}
          disabled={disabled}
          aria-describedby={ids.describedBy}
          aria-invalid={ids.invalid || undefined}
          onChange={(e) => onValue((e.currentTarget as HTMLSelectElement).value)}
        >
          {placeholder !== undefined ? <option value="">{placeholder}</option> : null}
          {options.map((o) => (
            <option key={o.value} value={o.value} disabled={o.disabled}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function Checkbox({ label, checked, onValue, hint, disabled }: { label: ComponentChildren; checked: boolean; onValue: (v: boolean) => void; hint?: ComponentChildren; disabled?: boolean }) {
  const id = useId();
  return (
    <div class="check">
      <input
        type="checkbox"
        id={id}
        checked={checked}
        disabled={disabled}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(e) => onValue((e.currentTarget as HTMLInputElement).checked)}
      />
      <label for={id}>{label}</label>
      {hint ? (
        <p id={`${id}-hint`} class="field-hint">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** A radio group in a fieldset with a legend (e.g. "Service-managed key" / "Customer-managed key"). */
export function RadioGroup({ legend, name, value, options, onValue, hint }: { legend: ComponentChildren; name: string; value: string; options: (Option & { hint?: ComponentChildren })[]; onValue: (v: string) => void; hint?: ComponentChildren }) {
  const id = useId();
  return (
    <fieldset class="radios" aria-describedby={hint ? `${id}-hint` : undefined}>
      <legend>{legend}</legend>
      {hint ? (
        <p id={`${id}-hint`} class="field-hint">
          {hint}
        </p>
      ) : null}
      {options.map((o, i) => (
        <div class="check" key={o.value}>
          <input type="radio" id={`${id}-${i}`} name={name} value={o.value} checked={value === o.value} disabled={o.disabled} onChange={() => onValue(o.value)} aria-describedby={o.hint ? `${id}-${i}-hint` : undefined} />
          <label for={`${id}-${i}`}>{o.label}</label>
          {o.hint ? (
            <p id={`${id}-${i}-hint`} class="field-hint">
              {o.hint}
            </p>
          ) : null}
        </div>
      ))}
    </fieldset>
  );
}
