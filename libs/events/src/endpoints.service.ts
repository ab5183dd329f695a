import { APP_CONFIG, AppConfig, assertWebhookUrlAllowed, Database, Errors, type Outcome } from '@app/common';
import { eventId, EventsService } from '@app/ledger';
import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { ENDPOINT_NAME, type PutEndpointDto } from './dto/endpoint.dto.js';

/** One delivery attempt, as the admin routes show it. */
export interface AttemptView {
  event_id: string;
  type: string;
  owner_id: string;
  seq: number;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number | null;
  at: string;
  /** The delivery's state now: pending (to be retried), delivered, or failed (given up). */
  state: 'pending' | 'delivered' | 'failed';
}

export interface EndpointView {
  name: string;
  url: string;
  types: string[];
  disabled: boolean;
  disabled_at: string | null;
  created_at: string;
  updated_at: string;
  /** Deliveries not yet delivered or given up. */
  pending: number;
  /** Deliveries given up after their retries (in the last week, what is kept). */
  given_up: number;
  /** The latest failed attempts, newest first. */
  recent_failures: AttemptView[];
  /** Only in the answer that created the endpoint. */
  secret?: string;
}

const RECENT_FAILURES = 5;

interface EndpointRow {
  name: string;
  url: string;
  types: string[];
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
  pending: string;
  given_up: string;
  recent_failures: AttemptRow[] | null;
}

interface AttemptRow {
  id: string;
  event_pos: string;
  type: string;
  owner_id: string;
  seq: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number | null;
  at: string | Date;
  state: AttemptView['state'];
}

const FAILED = `(a.status_code IS NULL OR a.status_code NOT BETWEEN 200 AND 299)`;

const ENDPOINT_SELECT = `
  SELECT e.name, e.url, e.types, e.disabled_at, e.created_at, e.updated_at,
    (SELECT count(*) FROM webhook_endpoint_deliveries d WHERE d.endpoint = e.name AND d.state = 'pending') AS pending,
    (SELECT count(*) FROM webhook_endpoint_deliveries d WHERE d.endpoint = e.name AND d.state = 'failed') AS given_up,
    (SELECT json_agg(f ORDER BY f.id DESC) FROM (
       SELECT a.id, a.event_pos, d.type, d.owner_id, d.seq, a.attempt, a.status_code, a.error, a.duration_ms, a.at, d.state
       FROM webhook_endpoint_attempts a JOIN webhook_endpoint_deliveries d ON d.endpoint = a.endpoint AND d.event_pos = a.event_pos
       WHERE a.endpoint = e.name AND ${FAILED}
       ORDER BY a.id DESC LIMIT ${RECENT_FAILURES}) f) AS recent_failures
  FROM webhook_endpoints e`;

function attemptView(r: AttemptRow): AttemptView {
  return {
    event_id: eventId(r.event_pos),
    type: r.type,
    owner_id: r.owner_id,
    seq: Number(r.seq),
    attempt: r.attempt,
    status_code: r.status_code,
    error: r.error,
    duration_ms: r.duration_ms,
    at: new Date(r.at).toISOString(),
    state: r.state,
  };
}

function endpointView(r: EndpointRow): EndpointView {
  return {
    name: r.name,
    url: r.url,
    types: r.types,
    disabled: r.disabled_at !== null,
    disabled_at: r.disabled_at?.toISOString() ?? null,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    pending: Number(r.pending),
    given_up: Number(r.given_up),
    recent_failures: (r.recent_failures ?? []).map(attemptView),
  };
}

function assertName(name: string): void {
  if (!ENDPOINT_NAME.test(name)) {
    throw Errors.validation('The webhook endpoint name must be 1-64 characters of A-Z a-z 0-9 _ . -', [
      { field: 'name', message: 'name must be 1-64 characters of A-Z a-z 0-9 _ . -' },
    ]);
  }
}

/**
 * Webhook endpoints of the wallet event feed (spec section 9). Owns
 * webhook_endpoints; reads the deliveries and attempts {@link WebhookDispatcher} writes.
 */
@Injectable()
export class EndpointsService {
  constructor(
    private readonly db: Database,
    private readonly events: EventsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async list(): Promise<{ data: EndpointView[] }> {
    const rows = await this.db.query<EndpointRow>(`${ENDPOINT_SELECT} ORDER BY e.name`);
    return { data: rows.map(endpointView) };
  }

  async get(name: string): Promise<EndpointView> {
    assertName(name);
    const rows = await this.db.query<EndpointRow>(`${ENDPOINT_SELECT} WHERE e.name = $1`, [name]);
    if (!rows[0]) throw Errors.notFound('webhook_endpoint_not_found', `No webhook endpoint ${name}`);
    return endpointView(rows[0]);
  }

  /**
   * Creates (201, with the secret, once) or replaces (200) an endpoint. A new
   * one gets the events positioned from now on; a replaced one keeps its place
   * in the feed, and a new `types` applies to events not yet queued for it.
   */
  async put(name: string, dto: PutEndpointDto): Promise<Outcome<EndpointView>> {
    assertName(name);
    await assertWebhookUrlAllowed(dto.url, this.config.ALLOW_PRIVATE_WEBHOOK_URLS, undefined, 'url');
    const types = dto.types ?? [];
    const disabled = dto.disabled ?? null;
    const head = await this.events.head();
    const secret = dto.secret ?? `whsec_${randomBytes(24).toString('base64url')}`;
    const created = await this.db.run<{ name: string }>(
      `INSERT INTO webhook_endpoints (name, url, types, secret, cursor_pos, created_at, updated_at, disabled_at)
       VALUES ($1, $2, $3, $4, $5, now(), now(), CASE WHEN $6::boolean THEN now() END)
       ON CONFLICT (name) DO NOTHING RETURNING name`,
      [name, dto.url, types, secret, head, disabled],
    );
    if (created.rowCount > 0) return { status: 201, body: { ...(await this.get(name)), secret } };
    await this.db.query(
      `UPDATE webhook_endpoints SET url = $2, types = $3, secret = coalesce($4, secret), updated_at = now(),
         disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at WHEN $5::boolean THEN coalesce(disabled_at, now()) END
       WHERE name = $1`,
      [name, dto.url, types, dto.secret ?? null, disabled],
    );
    return { status: 200, body: await this.get(name) };
  }

  /** Removes the endpoint with its deliveries and their attempts. */
  async delete(name: string): Promise<void> {
    assertName(name);
    const { rowCount } = await this.db.run(`DELETE FROM webhook_endpoints WHERE name = $1`, [name]);
    if (rowCount === 0) throw Errors.notFound('webhook_endpoint_not_found', `No webhook endpoint ${name}`);
  }

  /** The endpoint's delivery attempts, newest first; following next_cursor gives each once. */
  async attempts(name: string, limit = 50, cursor?: string): Promise<{ data: AttemptView[]; next_cursor: string | null }> {
    await this.get(name);
    const rows = await this.db.query<AttemptRow>(
      `SELECT a.id::text, a.event_pos::text, d.type, d.owner_id, d.seq::text, a.attempt, a.status_code, a.error, a.duration_ms, a.at, d.state
       FROM webhook_endpoint_attempts a JOIN webhook_endpoint_deliveries d ON d.endpoint = a.endpoint AND d.event_pos = a.event_pos
       WHERE a.endpoint = $1 AND ($2::bigint IS NULL OR a.id < $2::bigint)
       ORDER BY a.id DESC LIMIT $3`,
      [name, cursor ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return { data: page.map(attemptView), next_cursor: rows.length > limit ? page[page.length - 1].id : null };
  }
}
