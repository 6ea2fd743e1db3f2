// Signing in to the operators' user pool: Cognito InitiateAuth with USER_PASSWORD_AUTH, then the challenges the
// pool sets (a TOTP code; at the first sign-in, setting up an authenticator app; a new password for a user an
// administrator created), each called with fetch as the AWS SDK would (JSON 1.1 protocol). The ID token carries
// `cognito:groups`, which the API checks for `admin`. Tokens live in sessionStorage: closing the tab signs out.
import { config } from "./config.js";

const KEY = "commerce-console-session";

export function currentSession() {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  const session = JSON.parse(raw);
  if (Date.now() >= session.expiresAt) {
    sessionStorage.removeItem(KEY);
    return null;
  }
  return session;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

export class SignInError extends Error {}

async function cognito(action, request) {
  const { cognitoEndpoint } = await config();
  const response = await fetch(cognitoEndpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
    },
    body: JSON.stringify(request),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const kind = String(body.__type || "").split("#").pop();
    throw new SignInError(body.message || kind || `Cognito answered HTTP ${response.status}`);
  }
  return body;
}

// A sign-in goes step by step: each step is either `{ session }` (signed in) or `{ challenge, answer }`, where
// `challenge` is "code", "setup" (with `secret` and `otpauth` for the authenticator app) or "new-password", and
// `answer(value)` (the code, or the new password) gives the next step.
export async function signIn(username, password) {
  const { clientId } = await config();
  const started = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: clientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  return next(username, started);
}

async function next(username, reply) {
  const { clientId } = await config();
  const respond = async (challenge, session, responses) =>
    next(username, await cognito("RespondToAuthChallenge", {
      ClientId: clientId,
      ChallengeName: challenge,
      Session: session,
      ChallengeResponses: { USERNAME: username, ...responses },
    }));
  if (reply.AuthenticationResult) return { session: keep(username, reply.AuthenticationResult) };
  switch (reply.ChallengeName) {
    case "SOFTWARE_TOKEN_MFA":
      return {
        challenge: "code",
        answer: (code) => respond("SOFTWARE_TOKEN_MFA", reply.Session, { SOFTWARE_TOKEN_MFA_CODE: code }),
      };
    case "MFA_SETUP": {
      const token = await cognito("AssociateSoftwareToken", { Session: reply.Session });
      const label = encodeURIComponent(`commerce console:${username}`);
      return {
        challenge: "setup",
        secret: token.SecretCode,
        otpauth: `otpauth://totp/${label}?secret=${token.SecretCode}&issuer=commerce%20console`,
        answer: async (code) => {
          const verified = await cognito("VerifySoftwareToken", {
            Session: token.Session, UserCode: code, FriendlyDeviceName: "console",
          });
          return respond("MFA_SETUP", verified.Session, {});
        },
      };
    }
    case "NEW_PASSWORD_REQUIRED":
      return {
        challenge: "new-password",
        answer: (newPassword) => respond("NEW_PASSWORD_REQUIRED", reply.Session, { NEW_PASSWORD: newPassword }),
      };
    default:
      throw new SignInError(`Cognito asks for a sign-in step the console does not know (${reply.ChallengeName})`);
  }
}

function keep(username, result) {
  if (!result.IdToken) throw new SignInError("Cognito gave no ID token");
  const claims = decodeClaims(result.IdToken);
  const groups = claims["cognito:groups"] || [];
  if (!groups.includes("admin")) throw new SignInError(`${username} is not an operator (group admin)`);
  const session = {
    username: claims["cognito:username"] || username,
    idToken: result.IdToken,
    expiresAt: Date.now() + (result.ExpiresIn || 3600) * 1000 - 30_000,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

function decodeClaims(jwt) {
  const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
}
