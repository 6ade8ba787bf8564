export { ConfirmButton } from "./ConfirmButton";
export { CopyButton } from "./CopyButton";
export { ACTIONS, DataTable, type Column } from "./DataTable";
export { ErrorBanner, errorText } from "./ErrorBanner";
export { FormRow } from "./FormRow";
export { OnceSecret } from "./OnceSecret";
