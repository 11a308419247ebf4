// Signing keys: one RSA key for the GitHub OIDC issuer, one for Google-signed ID tokens.
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, createLocalJWKSet } from 'jose';
import type { JWK, JWTPayload, CryptoKey } from 'jose';
import { randomUUID } from 'node:crypto';

export class SigningKey {
  readonly kid: string;
  private readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  /** Every token this key signed: credentials a leak scan must never find in a run's output. */
  readonly issued = new Set<string>();

  private constructor(kid: string, privateKey: CryptoKey, publicJwk: JWK) {
    this.kid = kid;
    this.privateKey = privateKey;
    this.publicJwk = publicJwk;
  }

  static async generate(): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomUUID().replace(/-/g, '').slice(0, 16);
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    return new SigningKey(kid, privateKey, jwk);
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  async sign(payload: JWTPayload, lifetimeSeconds: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid })
      .setIssuedAt(now)
      .setExpirationTime(now + lifetimeSeconds)
      .sign(this.privateKey);
    this.issued.add(token);
    return token;
  }

  /** Verifies signature, expiry, and (when given) issuer and audience. Throws jose errors. */
  async verify(
    token: string,
    options: { issuer?: string; audience?: string | string[] } = {},
  ): Promise<JWTPayload> {
    const jwks = createLocalJWKSet(this.jwks());
    const { payload } = await jwtVerify(token, jwks, options);
    return payload;
  }
}
