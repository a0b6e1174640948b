// Where a Supabase project's ops-api function answers, read off the database URL the CLI was given: the direct
// connection names the project in its host (db.<ref>.supabase.co), the poolers in their user (postgres.<ref>).
const ref = /^[a-z0-9]{20}$/;

/** The ops-api function's URL of the project this database URL reaches, or undefined when it is no Supabase URL. */
export function opsApiUrl(databaseUrl: string | undefined): string | undefined {
  if (!databaseUrl) return undefined;
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return undefined;
  }
  const host = url.hostname.toLowerCase();
  let project: string | undefined;
  const direct = /^db\.([a-z0-9]+)\.supabase\.co$/.exec(host);
  if (direct) project = direct[1];
  else if (host.endsWith('.pooler.supabase.com')) project = /^[^.]+\.([a-z0-9]+)$/.exec(decodeURIComponent(url.username).toLowerCase())?.[1];
  return project && ref.test(project) ? `https://${project}.supabase.co/functions/v1/ops-api` : undefined;
}
