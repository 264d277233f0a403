// A real OpenID provider for Vigil's single sign-on tests: panva's
// oidc-provider (OpenID Certified, Back-Channel Logout included), which
// `cargo xtask test` installs from npm into target/xtask/oidc-provider/
// and names in VIGIL_OIDC_PROVIDER_DIR. The Rust fixture
// (backend/tests/api/oidc_provider/fixture.rs) starts it; by hand:
//
//   VIGIL_OIDC_PROVIDER_DIR=target/xtask/oidc-provider \
//     node backend/tests/support/oidc-provider.mjs config.json
//
// config.json:
//   { "port": 0,                         (0: any free port)
//     "clients": [{ "client_id", "client_secret", "redirect_uris": [...],
//                   "backchannel_logout_uri",             (optional)
//                   "backchannel_logout_session_required", (default true)
//                   "post_logout_redirect_uris": [...],   (optional)
//                   "token_endpoint_auth_method" }],      (default client_secret_basic)
//     "accounts": [{ "sub", "email", "email_verified", "name" }],
//     "jwks": { "keys": [private JWKs] } }  (optional: else one RS256 key is made)
//
// It listens on 127.0.0.1 only, prints one line to stdout when it does,
// {"issuer":"http://127.0.0.1:PORT","port":PORT}, and exits when stdin
// closes, so a test that dies leaves no provider behind. Its warnings go to
// stderr.
//
// Signing in (oidc-provider's devInteractions, its built-in pages at
// /interaction/<uid>; the document title is "Sign-in" on both):
// - heading "Sign-in": a text field name="login" (no label; placeholder
//   "Enter any login") that takes the account's `sub`, a required field
//   name="password" (placeholder "and password"; any value will do), and a
//   button "Sign-in". A login that is not in `accounts` signs in too, as a
//   person with no email.
// - then, once per provider session and client, heading "Authorize": the
//   scopes asked for and a button "Continue".
// - both have a link "[ Cancel ]": the client gets error=access_denied.
// - RP-initiated logout (/session/end) asks "Do you want to sign-out from
//   127.0.0.1:PORT?" with buttons "Yes, sign me out" and "No, stay signed in".
//
// Claims: the ID token carries `sub` (and `sid`, `nonce`, ...) but not the
// `email` scope's claims: when an access token is issued too, oidc-provider
// (conformIdTokenClaims, as Okta does) returns `email` and `email_verified`
// from the userinfo endpoint only.
//
// Test controls on the same server (not part of any standard):
// - GET /__test/sessions: [{"sub","sids":{"<client_id>":"<sid>"}}], the
//   provider's live sessions and the `sid` each client was given.
// - POST /__test/backchannel-logout {"client_id","sub","sid"}: the provider
//   sends that client a real logout token (oidc-provider's own
//   Client#backchannelLogout, the call its end_session makes) and answers
//   200 {"delivered":true}, or 502 {"error"} saying what the client answered.

import { randomBytes, generateKeyPairSync, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = process.env.VIGIL_OIDC_PROVIDER_DIR
  || join(here, '..', '..', '..', 'target', 'xtask', 'oidc-provider');
// ES modules ignore NODE_PATH: find the package from its folder instead.
const entry = createRequire(join(packageDir, 'node_modules', 'x.js')).resolve('oidc-provider');
const { default: Provider } = await import(pathToFileURL(entry).href);

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node oidc-provider.mjs <config.json>');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const accounts = new Map((config.accounts ?? []).map((a) => [a.sub, a]));
const jwks = config.jwks ?? { keys: [generatedKey()] };

/** An RS256 private JWK, for running without one given. */
function generatedKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const kid = createHash('sha256').update(jwk.n).digest('base64url').slice(0, 16);
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

/**
 * Everything stored in memory, as oidc-provider's own memory adapter does,
 * but in a Map this script can read: GET /__test/sessions lists from it.
 */
const store = new Map();
const grants = new Map();
class TestAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  static get(key) {
    const entry = store.get(key);
    if (entry && entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry?.value;
  }

  static set(key, value, expiresIn) {
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    store.set(key, { value, expiresAt });
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    if (this.model === 'Session') TestAdapter.set(`sessionUid:${payload.uid}`, id, expiresIn);
    if (payload.userCode) TestAdapter.set(`userCode:${payload.userCode}`, id, expiresIn);
    if (payload.grantId) {
      if (!grants.has(payload.grantId)) grants.set(payload.grantId, new Set());
      grants.get(payload.grantId).add(key);
    }
    TestAdapter.set(key, payload, expiresIn);
  }

  async find(id) {
    return TestAdapter.get(this.key(id));
  }

  async findByUid(uid) {
    const id = TestAdapter.get(`sessionUid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = TestAdapter.get(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = TestAdapter.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of grants.get(grantId) ?? []) store.delete(key);
    grants.delete(grantId);
  }
}

/** The live sessions: who signed in and the `sid` each client was given. */
function sessions() {
  const list = [];
  for (const key of [...store.keys()]) {
    if (!key.startsWith('Session:')) continue;
    const session = TestAdapter.get(key);
    if (!session?.accountId) continue;
    const sids = {};
    for (const [clientId, { sid }] of Object.entries(session.authorizations ?? {})) {
      if (sid) sids[clientId] = sid;
    }
    list.push({ sub: session.accountId, sids });
  }
  return list;
}

/** Lets oidc-provider call 127.0.0.1: the RP under test listens there. */
function loopbackFetch(url, options) {
  // oidc-provider 9 (Node.js 22+) sends its requests through an undici
  // dispatcher that refuses special-use addresses, loopback among them;
  // without it this is plain fetch. 8.x calls through `httpOptions` (got),
  // which has no such check, and ignores this option.
  const { dispatcher, ...rest } = options;
  return globalThis.fetch(url, rest);
}

async function listen(server, port) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server.address().port;
}

const server = createServer();
const port = await listen(server, config.port ?? 0);
const issuer = `http://127.0.0.1:${port}`;
// The keys' own alg (RS256 unless the caller gave, say, an ES256 key).
const signingAlg = jwks.keys[0]?.alg ?? 'RS256';

const provider = new Provider(issuer, {
  clients: (config.clients ?? []).map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
    ...(c.backchannel_logout_uri ? {
      backchannel_logout_uri: c.backchannel_logout_uri,
      backchannel_logout_session_required: c.backchannel_logout_session_required ?? true,
    } : {}),
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: signingAlg,
  })),
  // Any login signs in, as the dev page's placeholder says ("Enter any
  // login"): one not in `accounts` is a person with no email. (Answering
  // "no such account" makes the dev pages fail with a 500.)
  async findAccount(_ctx, sub) {
    const account = accounts.get(sub);
    return {
      accountId: sub,
      async claims() {
        if (!account) return { sub };
        return {
          sub,
          email: account.email,
          email_verified: account.email_verified ?? true,
          name: account.name,
        };
      },
    };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // The default, said here because the tests depend on it: with an access
  // token issued, the scopes' claims come from userinfo, not the ID token.
  conformIdTokenClaims: true,
  jwks,
  adapter: TestAdapter,
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  // Authorization code flow with PKCE, always (S256 is the only method).
  pkce: { methods: ['S256'], required: () => true },
  fetch: loopbackFetch,
});

// Warnings, not failures: a test provider uses the dev pages on purpose.
provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error:', err));
provider.on('backchannel.error', (_ctx, err) => console.error('back-channel logout failed:', err.message));

const callback = provider.callback();

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

async function testControl(req, res) {
  if (req.method === 'GET' && req.url === '/__test/sessions') {
    return json(res, 200, sessions());
  }
  if (req.method === 'POST' && req.url === '/__test/backchannel-logout') {
    const { client_id: clientId, sub, sid } = await readJson(req);
    const client = await provider.Client.find(String(clientId));
    if (!client) return json(res, 404, { error: `no client ${clientId}` });
    if (!client.backchannelLogoutUri) {
      return json(res, 400, { error: `client ${clientId} has no backchannel_logout_uri` });
    }
    try {
      await client.backchannelLogout(String(sub), sid);
      return json(res, 200, { delivered: true });
    } catch (err) {
      return json(res, 502, { error: err.message });
    }
  }
  return json(res, 404, { error: 'no such test control' });
}

server.on('request', (req, res) => {
  if (req.url.startsWith('/__test/')) {
    testControl(req, res).catch((err) => json(res, 500, { error: String(err) }));
  } else {
    callback(req, res);
  }
});

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);

// The fixture holds stdin open; when it closes, the test is over.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
