// A row of a `.form-grid` form: the label, the control and, under it, the help text.
import type { ReactNode } from "react";

export interface FormRowProps {
  id: string; // the control's id
  label: ReactNode;
  help?: ReactNode;
  children: ReactNode; // the control
}

export function FormRow({ id, label, help, children }: FormRowProps) {
  return (
    <>
      <label htmlFor={id}>{label}</label>
      {children}
      {help ? <span className="help">{help}</span> : null}
    </>
  );
}
