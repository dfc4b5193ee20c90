// The shared components of the portal contract (portal/README.md).
export { StatusBadge } from "./status-badge";
export { CopyButton } from "./copy-button";
export { JsonView } from "./json-view";
export { DataTable, type Column, type DataTableProps } from "./data-table";
export { Banner } from "./banner";
export { Field, TextInput, Select, Checkbox, RadioGroup, type FieldIds, type Option } from "./form";
export { Button } from "./button";
export { ErrorBox } from "./error-box";
export { Dialog, Pane } from "./dialog";
export { Tabs, type Tab } from "./tabs";
export { Time, formatUtc, relative } from "./time";
export { Loading } from "./loading";
export { WizardSteps, WizardFooter } from "./wizard-steps";
