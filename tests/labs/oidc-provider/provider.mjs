// A real OpenID Connect provider (oidc-provider) on 127.0.0.1 for the single sign-on tests.
// One confidential client with PKCE required and the development login and consent forms.
// Accounts and their claims are read from ACCOUNTS_FILE at every login, so a test can change a
// person's email or groups between two logins. Prints `listening <port>` once it answers.
//
// Environment: PORT (0 for any), CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, ACCOUNTS_FILE,
// KEY_FILE (a private JWK; made and saved on first start, so a restart can keep or change it).
// Each start-up stage is written to stderr with its time, so a start that stalls says where.

import crypto from 'node:crypto';
import fs from 'node:fs';

import Provider from 'oidc-provider';

const stage = (name) => console.error(`stage: ${name} at ${Math.round(performance.now())} ms`);
stage('modules loaded');

const env = (name) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

function signingKey() {
  const file = env('KEY_FILE');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: crypto.randomUUID() };
  // Written whole or not at all: a start killed mid-write must not leave half a key behind.
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(jwk));
  fs.renameSync(`${file}.tmp`, file);
  return jwk;
}

const accounts = () => JSON.parse(fs.readFileSync(env('ACCOUNTS_FILE'), 'utf8'));

const port = Number(process.env.PORT ?? 0);
const server = (await import('node:http')).createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
stage('socket bound');
const key = signingKey();
stage('signing key ready');

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: env('CLIENT_ID'),
      client_secret: env('CLIENT_SECRET'),
      redirect_uris: [env('REDIRECT_URI')],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [key] },
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  // Claims in the ID token itself, as Entra ID and ADFS send them.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    const claims = accounts()[id];
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
});
provider.on('server_error', (_ctx, err) => console.error('provider error:', err));
server.on('request', provider.callback());
stage('provider made');
console.log(`listening ${server.address().port}`);
