// A button whose action asks first (window.confirm): deleting, revoking, removing.
import type { ButtonHTMLAttributes } from "react";

export interface ConfirmButtonProps extends Omit<ButtonHTMLAttributes<HTMLButtonElement>, "onClick"> {
  /** The question; the action runs only when the user confirms it. */
  confirm: string;
  onConfirm: () => unknown;
}

export function ConfirmButton(props: ConfirmButtonProps) {
  const { confirm, onConfirm, className = "danger", type = "button", ...button } = props;
  return (
    <button
      {...button}
      type={type}
      className={className}
      onClick={() => {
        if (window.confirm(confirm)) void onConfirm();
      }}
    />
  );
}
