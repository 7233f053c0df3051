// The mxray integration for Zapier (zapier-platform-core): API-key authentication, seven REST-hook
// triggers, three actions and a search. Built into index.js by `npm run zapier:build` for
// `zapier push`; tested against the local stack with the platform's app tester.
import zapier, { type Bundle, type ZObject } from "zapier-platform-core";
import type { Job, WebhookEvent } from "../../../client/index.ts";
import manifest from "../package.json" with { type: "json" };
import {
  SAMPLE_CAMPAIGN,
  SAMPLE_DM_ENRICHED,
  SAMPLE_FIND,
  SAMPLE_JOB,
  SAMPLE_RECIPIENT_BOUNCED,
  SAMPLE_RECIPIENT_COMPLAINED,
  SAMPLE_RECIPIENT_UNSUBSCRIBED,
  SAMPLE_RESULT,
} from "../../../core/samples.ts";
import { withApi } from "./http.ts";

const platformVersion = zapier.version;
const { version } = manifest;

type Obj = Record<string, unknown>;

/** A REST-hook trigger on one of our events: Zapier subscribes its URL, we POST `{ type, timestamp, data }`. */
function hookTrigger(key: string, event: WebhookEvent, noun: string, label: string, description: string, sample: object) {
  return {
    key,
    noun,
    display: { label, description },
    operation: {
      type: "hook" as const,
      performSubscribe: async (z: ZObject, bundle: Bundle) => withApi(z, bundle, (api) => api.subscribeHook(String(bundle.targetUrl ?? ""), event)),
      performUnsubscribe: async (z: ZObject, bundle: Bundle) => {
        await withApi(z, bundle, (api) => api.unsubscribeHook(String(bundle.subscribeData?.id ?? "")));
        return {};
      },
      perform: async (_z: ZObject, bundle: Bundle) => {
        const payload = (bundle.cleanedRequest ?? {}) as { type?: string; data?: Obj };
        return payload.type === event && payload.data ? [payload.data] : [];
      },
      performList: async (z: ZObject, bundle: Bundle) => withApi(z, bundle, (api) => api.hookSamples(event)),
      sample,
    },
  };
}

const listVerified = hookTrigger("list_verified", "job.completed", "List", "List Verified", "Triggers when a list finishes verifying.", SAMPLE_JOB);
const addressVerified = hookTrigger("address_verified", "verification.completed", "Address", "Address Verified", "Triggers when an address is checked through the API.", SAMPLE_RESULT);
const decisionMakersFound = hookTrigger(
  "decision_makers_found",
  "dm.enriched",
  "Company",
  "Decision Makers Found",
  "Triggers when a company's decision makers are listed with their addresses (needs a people-data provider on the mxray side).",
  SAMPLE_DM_ENRICHED,
);
const campaignCompleted = hookTrigger("campaign_completed", "campaign.completed", "Campaign", "Campaign Completed", "Triggers when a campaign finishes sending, with its counts.", SAMPLE_CAMPAIGN);
const recipientUnsubscribed = hookTrigger(
  "recipient_unsubscribed",
  "recipient.unsubscribed",
  "Recipient",
  "Recipient Unsubscribed",
  "Triggers when a campaign's recipient unsubscribes; mxray has already suppressed the address for every campaign of the account.",
  SAMPLE_RECIPIENT_UNSUBSCRIBED,
);
const recipientBounced = hookTrigger(
  "recipient_bounced",
  "recipient.bounced",
  "Bounce",
  "Recipient Bounced",
  "Triggers when a campaign message bounces (read from your bounce mailbox or reported through the API); mxray has already suppressed a hard bounce, and refunded the check when it had called the address deliverable.",
  SAMPLE_RECIPIENT_BOUNCED,
);
const recipientComplained = hookTrigger(
  "recipient_complained",
  "recipient.complained",
  "Complaint",
  "Recipient Complained",
  "Triggers when a recipient marks a campaign message as spam (a feedback report); mxray has already suppressed the address.",
  SAMPLE_RECIPIENT_COMPLAINED,
);

const verifyAddress = {
  key: "verify_address",
  noun: "Address",
  display: { label: "Verify an Address", description: "Checks one address live: deliverable, undeliverable, risky or unknown, with the SMTP evidence." },
  operation: {
    inputFields: [{ key: "email", label: "Email address", required: true, type: "string" as const }],
    perform: async (z: ZObject, bundle: Bundle<{ email: string }>) => withApi(z, bundle, (api) => api.verify(bundle.inputData.email)),
    sample: SAMPLE_RESULT,
  },
};

const findAddress = {
  key: "find_address",
  noun: "Address",
  display: { label: "Find an Address", description: "Finds a person's work address from their name and company domain, proven live by the company's mail server." },
  operation: {
    inputFields: [
      { key: "first_name", label: "First name", required: true, type: "string" as const },
      { key: "last_name", label: "Last name", required: true, type: "string" as const },
      { key: "domain", label: "Company domain or website", required: true, type: "string" as const },
    ],
    perform: async (z: ZObject, bundle: Bundle<{ first_name: string; last_name: string; domain: string }>) => {
      const { first_name, last_name, domain } = bundle.inputData;
      return withApi(z, bundle, (api) => api.find({ first_name, last_name, domain }));
    },
    sample: SAMPLE_FIND,
  },
};

const verifyList = {
  key: "verify_list",
  noun: "List",
  display: { label: "Verify a List", description: "Starts verifying a list of addresses, or a CSV or text file; use the List Verified trigger for its results." },
  operation: {
    inputFields: [
      { key: "addresses", label: "Addresses", list: true, type: "string" as const, helpText: "One address per item. Leave empty when you give a file." },
      { key: "file", label: "File", type: "file" as const, helpText: "A CSV (with an email column) or a text file of addresses." },
      { key: "name", label: "Name", type: "string" as const },
    ],
    perform: async (z: ZObject, bundle: Bundle<{ addresses?: string[]; file?: string; name?: string }>) => {
      const { addresses, file, name } = bundle.inputData;
      if (file) {
        // Zapier hands over a URL to the file; we read it and send its bytes, never the URL.
        const got = await z.request({ url: file, raw: true });
        if (got.status >= 400) throw new z.errors.Error(`The file could not be read (${got.status})`, "file_unreadable", got.status);
        const type = String(got.headers.get("content-type") ?? "");
        const body = new Uint8Array(await got.buffer());
        return withApi(z, bundle, (api) => api.uploadList(body, /csv/.test(type) ? "text/csv" : "text/plain", name));
      }
      const list = (addresses ?? []).map((a) => String(a).trim()).filter((a) => a.length > 0);
      if (list.length === 0) throw new z.errors.Error("Give addresses or a file", "validation_failed", 400);
      return withApi(z, bundle, (api) => api.uploadList(list.join("\n"), "text/plain", name));
    },
    sample: { ...SAMPLE_JOB, status: "queued", processed: 0, progress: 0, finished_at: null },
  },
};

const findList = {
  key: "find_list",
  noun: "List",
  display: { label: "Find a List", description: "Finds a list by its id, or the newest list with a name." },
  operation: {
    inputFields: [
      { key: "id", label: "List id", type: "string" as const },
      { key: "name", label: "Name", type: "string" as const },
    ],
    perform: async (z: ZObject, bundle: Bundle<{ id?: string; name?: string }>) => {
      const { id, name } = bundle.inputData;
      if (id) {
        const job = await withApi(z, bundle, (api) => api.getJob(id), { notFound: "null" });
        return job ? [job] : [];
      }
      if (!name) throw new z.errors.Error("Give a list id or a name", "validation_failed", 400);
      // Newest first, a few pages at most: a search answers what a person would look for.
      return withApi(z, bundle, async (api) => {
        const found: Job[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 5; page++) {
          const got = await api.listJobs(100, cursor);
          found.push(...got.data.filter((j) => j.name === name));
          cursor = got.next_cursor ?? undefined;
          if (found.length > 0 || !cursor) break;
        }
        return found;
      });
    },
    sample: SAMPLE_JOB,
  },
};

export const app = {
  version,
  platformVersion,
  authentication: {
    type: "custom" as const,
    fields: [{ key: "api_key", label: "API key", required: true, type: "password" as const, helpText: "Make one on mxray's API keys page." }],
    test: async (z: ZObject, bundle: Bundle) => withApi(z, bundle, (api) => api.account()),
    connectionLabel: "{{name}}",
  },
  triggers: {
    [listVerified.key]: listVerified,
    [addressVerified.key]: addressVerified,
    [decisionMakersFound.key]: decisionMakersFound,
    [campaignCompleted.key]: campaignCompleted,
    [recipientUnsubscribed.key]: recipientUnsubscribed,
    [recipientBounced.key]: recipientBounced,
    [recipientComplained.key]: recipientComplained,
  },
  creates: { [verifyAddress.key]: verifyAddress, [findAddress.key]: findAddress, [verifyList.key]: verifyList },
  searches: { [findList.key]: findList },
};

export default app;
