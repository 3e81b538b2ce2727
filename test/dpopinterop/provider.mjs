// An independent DPoP verifier for xaad's proofs: the npm oidc-provider
// (panva), an OAuth 2.0 authorization server whose token endpoint checks
// RFC 9449 proofs and binds the tokens it issues. It serves the
// client_credentials grant and token introspection on 127.0.0.1 and prints
// one line, "READY <issuer>", once it listens. broker/dpop's
// TestOIDCProviderInterop starts it; see scripts/dpop-interop.sh.
//
// Environment: DPOP_REQUIRE_NONCE=1 makes every proof carry a server nonce
// (RFC 9449 §8).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'xaad-interop',
    client_secret: 'xaad-interop-secret',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  enabledJWA: { dPoPSigningAlgValues: ['ES256', 'ES384', 'PS256', 'RS256'] },
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    devInteractions: { enabled: false },
    dPoP: {
      enabled: true,
      nonceSecret: randomBytes(32),
      requireNonce: () => process.env.DPOP_REQUIRE_NONCE === '1',
    },
  },
});
server.on('request', provider.callback());
process.stdout.write(`READY ${issuer}\n`);

// Stop when the test closes our stdin, so no server outlives it.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
