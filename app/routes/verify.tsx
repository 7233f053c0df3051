// A single check: one address through a probe, with every check and the SMTP trace, and whether
// the account's rules make it safe to send.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, useActionData, useLoaderData, useNavigation, type MetaFunction } from "@remix-run/react";
import { newId } from "../../core/ids.ts";
import { refusalOf } from "../../core/rules.ts";
import { can } from "../../core/roles.ts";
import { requireViewer } from "../auth.server.ts";
import { RefusedAlert } from "../components/billing.tsx";
import { SafeToSend } from "../components/rules.tsx";
import { Reason } from "../components/reason.tsx";
import { Badge, Evidence } from "../components/ui.tsx";
import { refused } from "../lib/actions.server.ts";
import { getRules } from "../lib/rules.server.ts";
import { checkAddress } from "../lib/verify.server.ts";

export const meta: MetaFunction = () => [{ title: "Single check · mxray" }];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  return { canBuy: can(viewer.account.role, "billing:view") };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const email = String((await args.request.formData()).get("email") ?? "").trim();
  if (!email) return { error: { code: "validation_failed", message: "Enter an address to check." } };
  try {
    // A trace is asked for, so the answer is fresh from a probe (the cache keeps no traces).
    const who = { accountId: viewer.account.id, actor: viewer.user.id };
    const [outcome, rules] = await Promise.all([checkAddress(args.context.services, who, { check: { email, trace: true }, requestId: newId("req") }), getRules(args.context.services, who)]);
    return { result: outcome.result, cached: outcome.cached, refusal: refusalOf(outcome.result, rules) };
  } catch (e) {
    return refused(e);
  }
}

export default function Verify() {
  const { canBuy } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Single check</h1>
          <p>One address, asked live: DNS, the mail server's RCPT TO answer, and the lists. Costs one credit unless unknown.</p>
        </div>
      </div>
      <Form method="post" className="card">
        <div className="row">
          <div className="grow">
            <label htmlFor="email">Email address</label>
            <input id="email" name="email" type="text" inputMode="email" autoComplete="off" spellCheck={false} required placeholder="someone@example.com" />
          </div>
          <button className="btn primary" type="submit" disabled={busy}>{busy ? "Checking…" : "Check"}</button>
        </div>
      </Form>
      {answer && "error" in answer && answer.error && <RefusedAlert error={answer.error} canBuy={canBuy} />}
      {answer && "result" in answer && answer.result && (
        <section className="card" aria-labelledby="result-title" aria-live="polite">
          <h2 id="result-title">
            <span className="mono">{answer.result.email}</span> <Badge value={answer.result.verdict} />
          </h2>
          {/* The answer in words first; a mistyped provider leads with its fix (docs/verdicts.md). */}
          <p className="lead-reason" data-testid="answer-reason"><Reason code={answer.result.reason} suggestion={answer.result.suggestion} /></p>
          <p data-testid="safe-to-send">Safe to send under your <a href="/rules">sending rules</a>: <SafeToSend refusal={answer.refusal} /></p>
          <Evidence result={answer.result} />
        </section>
      )}
    </>
  );
}
