// Thin fetch wrapper for the v1 API: JSON in/out, problem+json errors as ApiError with the
// problem's title/detail, Bearer token when signed in with a token, else the session cookie.
export class ApiError extends Error {
  constructor(readonly status: number, readonly type: string, readonly title: string, readonly detail: string) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

// What the page uses instead of fetch when it was opened from the cloud relay
// (lib/relay/transport.ts): the same requests, end-to-end encrypted to the edge.
export interface ApiTransport {
  request(method: string, path: string, headers: Record<string, string>, body: string):
    Promise<{ status: number; headers: Record<string, string>; body: string }>;
}

export class Api {
  token: string | null = null;
  transport: ApiTransport | null = null;
  constructor(readonly base = '') {}

  // fetch, or the relay transport: status, ok and the body's text.
  private async send(method: string, path: string, headers: Record<string, string>, body?: string):
      Promise<{ status: number; ok: boolean; statusText: string; text: string }> {
    if (this.transport) {
      const r = await this.transport.request(method, this.base + path, headers, body ?? '');
      return { status: r.status, ok: r.status >= 200 && r.status < 300, statusText: '', text: r.body };
    }
    const r = await fetch(this.base + path, { method, headers, credentials: 'same-origin', body });
    return { status: r.status, ok: r.ok, statusText: r.statusText, text: await r.text() };
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let r: { status: number; ok: boolean; statusText: string; text: string };
    try {
      r = await this.send(method, path, headers, body === undefined ? undefined : JSON.stringify(body));
    } catch (e) {
      throw new ApiError(0, 'network', 'Network error', String(e));
    }
    const text = r.text;
    let data: any = null;
    if (text) { try { data = JSON.parse(text); } catch { data = text; } }
    if (!r.ok) {
      const p = data && typeof data === 'object' ? data : {};
      throw new ApiError(r.status, String(p.type ?? ''), String(p.title ?? r.statusText), String(p.detail ?? (typeof data === 'string' ? data : '')));
    }
    return data as T;
  }
  // The raw answer of a GET (e.g. CSV), with the same credentials; errors as request().
  async text(path: string): Promise<string> {
    const headers: Record<string, string> = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let r: { status: number; ok: boolean; statusText: string; text: string };
    try { r = await this.send('GET', path, headers); } catch (e) { throw new ApiError(0, 'network', 'Network error', String(e)); }
    const body = r.text;
    if (!r.ok) {
      let p: Record<string, unknown> = {};
      try { p = JSON.parse(body); } catch { /* not a problem document */ }
      throw new ApiError(r.status, String(p.type ?? ''), String(p.title ?? r.statusText), String(p.detail ?? ''));
    }
    return body;
  }
  get<T>(p: string) { return this.request<T>('GET', p); }
  post<T>(p: string, b?: unknown) { return this.request<T>('POST', p, b ?? {}); }
  patch<T>(p: string, b: unknown) { return this.request<T>('PATCH', p, b); }
  del<T>(p: string) { return this.request<T>('DELETE', p); }

  // The event stream's URL; through the relay only its path (the transport opens it).
  eventsUrl(ticket: string, since: number | null, scope = 'own'): string {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ ticket, scope });
    if (since != null) q.set('since', String(since));
    if (this.transport) return `${this.base}/api/v1/events?${q}`;
    return `${proto}//${location.host}${this.base}/api/v1/events?${q}`;
  }
}
