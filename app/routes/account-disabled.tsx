// What a member of an account an operator disabled sees instead of the app (issue 13): which
// account, and why. Switching to another of their accounts (the top bar) still works.
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { redirect } from "@remix-run/server-runtime";
import { useLoaderData, type MetaFunction } from "@remix-run/react";
import { requireSignedIn } from "../auth.server.ts";

export const meta: MetaFunction = () => [{ title: "Account disabled · mxray" }];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireSignedIn(args);
  if (viewer.account.disabledReason === null) throw redirect("/dashboard");
  return { name: viewer.account.name, reason: viewer.account.disabledReason, others: viewer.accounts.length > 1 };
}

export default function AccountDisabled() {
  const { name, reason, others } = useLoaderData<typeof loader>();
  return (
    <div className="card" role="alert">
      <h1>This account is disabled</h1>
      <p><strong>{name}</strong> was disabled by mxray's operators{reason ? `: ${reason}` : "."}</p>
      <p>
        Its API keys are refused and no new lists or checks can start; lists already running are paused, not lost, and resume
        if the account is enabled again. Write to support to have it looked at.
      </p>
      {others && <p>You can switch to another of your accounts with the menu at the top.</p>}
    </div>
  );
}
