import type { MetaFunction } from "@remix-run/react";

export const meta: MetaFunction = () => [
  { title: "mxray: email verification with the SMTP evidence" },
  { name: "description", content: "Find out which addresses take mail: deliverable, undeliverable, risky or unknown, live." },
];

export default function Index() {
  return (
    <main>
      <h1>mxray</h1>
      <p>
        Email verification: deliverable, undeliverable, risky or unknown, live, with the SMTP evidence. Upload a list or
        call the API; probes ask each mail server with RCPT TO and never send a message.
      </p>
      <p>
        The web app is on its way. Meanwhile, read the <a href="/api/v1/docs">API reference</a>.
      </p>
    </main>
  );
}
