// The peer Signet is measured against: node `oidc-provider`, configured like Signet for the benchmark.
//
// Same grants (authorization code + PKCE, refresh with rotation, client credentials), RFC 9068 JWT
// access tokens (resourceIndicators with accessTokenFormat 'jwt'), an RS256 key of the same size,
// client_secret_basic and the same lifetimes. Scenario 1k's client authenticates with private_key_jwt;
// scenario 1e's client has its JWT access tokens signed with ES256 (an EC P-256 key is in the JWKS,
// as Signet's bench instance keeps one). Storage is an in-process Map (its fastest setup: no
// database at all), so codes and refresh tokens for the benchmark are minted in this process through
// a control server on a second loopback port, outside the measured provider's request path.
//
// Configuration comes from a JSON file named by PEER_CONFIG (written by bench/run.py):
// { issuer, port, controlPort, keySize, resource, clients: [...], es256ClientIds: [...], account: {...},
//   lifetimes: {...} }
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.env.PEER_CONFIG, 'utf8'));
const { lifetimes } = config;

// --- storage: an unbounded Map with expiry (the bundled adapter is an LRU of 1,000 entries) ---------
const store = new Map();
const grantIndex = new Map();
const uidIndex = new Map();
const epoch = () => Math.floor(Date.now() / 1000);

class MapAdapter {
  constructor(name) {
    this.name = name;
  }

  key(id) {
    return `${this.name}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, { payload, exp: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    if (payload.grantId) {
      if (!grantIndex.has(payload.grantId)) grantIndex.set(payload.grantId, new Set());
      grantIndex.get(payload.grantId).add(key);
    }
    if (payload.uid) uidIndex.set(payload.uid, key);
  }

  async find(id) {
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.exp < Date.now()) {
      store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findByUid(uid) {
    const key = uidIndex.get(uid);
    return key ? store.get(key)?.payload : undefined;
  }

  async findByUserCode() {
    return undefined;
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = epoch();
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of grantIndex.get(grantId) ?? []) store.delete(key);
    grantIndex.delete(grantId);
  }
}

// Expired entries go, as a database's cleanup job would remove them.
setInterval(() => {
  const now = Date.now();
  for (const [key, entry] of store) if (entry.exp < now) store.delete(key);
  for (const [grantId, keys] of grantIndex) {
    for (const key of keys) if (!store.has(key)) keys.delete(key);
    if (keys.size === 0) grantIndex.delete(grantId);
  }
}, 10_000).unref();

// --- keys, accounts, resource server -------------------------------------------------------------
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: config.keySize });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };
const { privateKey: ecPrivateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecSigningKey = { ...ecPrivateKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256' };

const { account } = config;
async function findAccount(ctx, sub) {
  if (sub !== account.sub) return undefined;
  return {
    accountId: sub,
    async claims() {
      return { ...account.claims, sub };
    },
  };
}

const resourceServer = {
  scope: 'api',
  audience: config.resource,
  accessTokenTTL: lifetimes.accessToken,
  accessTokenFormat: 'jwt',
  jwt: { sign: { alg: 'RS256' } },
};
// Signet signs a client's access tokens with the alg it registered; here the resource server's
// format is the only place to choose it, so the ES256 clients get the same API signed with ES256.
const es256ClientIds = new Set(config.es256ClientIds ?? []);
const es256ResourceServer = { ...resourceServer, jwt: { sign: { alg: 'ES256' } } };

const provider = new Provider(config.issuer, {
  adapter: MapAdapter,
  clients: config.clients,
  jwks: { keys: [signingKey, ecSigningKey] },
  findAccount,
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'updated_at'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api'],
  clientDefaults: {
    grant_types: ['authorization_code', 'refresh_token'],
    id_token_signed_response_alg: 'RS256',
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // Signet's rule: a token is told to the client it was issued to, or to one of its audiences.
    // JWT access tokens are refused here by oidc-provider itself (structured tokens are verified
    // where they are used), so the bench introspects the peer's opaque access tokens.
    introspection: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => {
        if (token.clientId === client.clientId) return true;
        const aud = [].concat(token.aud ?? []);
        return aud.includes(client.clientId);
      },
    },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // A code minted with a resource carries it; client credentials default to the API.
      defaultResource: (ctx, client, oneOf) => (oneOf ? oneOf : config.resource),
      getResourceServerInfo: (ctx, resourceIndicator, client) => (
        es256ClientIds.has(client?.clientId) ? es256ResourceServer : resourceServer
      ),
      useGrantedResource: () => true,
    },
  },
  pkce: { required: () => false },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: lifetimes.accessToken,
    ClientCredentials: lifetimes.accessToken,
    IdToken: lifetimes.idToken,
    AuthorizationCode: lifetimes.authorizationCode,
    RefreshToken: lifetimes.refreshToken,
    Grant: lifetimes.refreshToken,
    Session: lifetimes.refreshToken,
    Interaction: 3600,
  },
});
provider.proxy = false;
// A benchmark must not print a line per request.
provider.on('server_error', (ctx, err) => console.error('server_error', err));

// --- minting codes for the code-exchange scenarios -----------------------------------------------
async function mintCodes({ n, withResource }) {
  const client = await provider.Client.find(config.rpClientId);
  const scope = 'openid profile email offline_access';
  const codes = [];
  for (let i = 0; i < n; i += 1) {
    const grant = new provider.Grant({ accountId: account.sub, clientId: client.clientId });
    grant.addOIDCScope(scope);
    if (withResource) grant.addResourceScope(config.resource, 'api');
    const grantId = await grant.save();
    const code = new provider.AuthorizationCode({
      accountId: account.sub,
      client,
      grantId,
      scope: withResource ? `${scope} api` : scope,
      resource: withResource ? config.resource : undefined,
      redirectUri: config.redirectUri,
      codeChallenge: config.codeChallenge,
      codeChallengeMethod: 'S256',
      nonce: `n-${i}`,
      authTime: epoch(),
      amr: ['pwd'],
      expiresWithSession: false,
    });
    codes.push(await code.save());
  }
  return codes;
}

const control = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  try {
    if (url.pathname === '/codes') {
      const codes = await mintCodes({
        n: Number(url.searchParams.get('n') || 1),
        withResource: url.searchParams.get('resource') !== '0',
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(codes));
    } else if (url.pathname === '/ready') {
      res.end('ok');
    } else {
      res.writeHead(404);
      res.end();
    }
  } catch (err) {
    res.writeHead(500);
    res.end(String(err?.stack || err));
  }
});

provider.listen(config.port, '127.0.0.1', () => {
  control.listen(config.controlPort, '127.0.0.1', () => {
    console.log(`peer oidc-provider on ${config.issuer}, control on 127.0.0.1:${config.controlPort}`);
  });
});
