// tree.tsx's controls, fetched (with the screen messages they use) when first shown.
import { lazy } from "react";
import { withScreenMessages } from "../../i18n";

const load = () => withScreenMessages(import("./tree"));
export const ForkNav = lazy(() => load().then((m) => ({ default: m.ForkNav })));
export const AiTools = lazy(() => load().then((m) => ({ default: m.AiTools })));
export const RerunButton = lazy(() => load().then((m) => ({ default: m.RerunButton })));
export const loadTree = load;
export const BranchButton = lazy(() => load().then((m) => ({ default: m.BranchButton })));
