// Any address no other route matches: a 404 thrown here, below the root, so the root's loader
// (who is signed in) has run and its ErrorBoundary draws the page inside the app's menu (issue 26).
export function loader(): never {
  throw new Response(null, { status: 404, statusText: "Not Found" });
}

export default function NotFound() {
  return null;
}
