// Signing in: Cognito InitiateAuth with USER_PASSWORD_AUTH, called with fetch as the AWS SDK would (JSON 1.1
// protocol). The ID token carries `cognito:groups`, which the API checks for `admin`. Tokens live in
// sessionStorage: closing the tab signs out.
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

export async function signIn(username, password) {
  const { cognitoEndpoint, clientId } = await config();
  const response = await fetch(cognitoEndpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
    },
    body: JSON.stringify({
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: clientId,
      AuthParameters: { USERNAME: username, PASSWORD: password },
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const kind = String(body.__type || "").split("#").pop();
    throw new SignInError(body.message || kind || `Cognito answered HTTP ${response.status}`);
  }
  const result = body.AuthenticationResult;
  if (!result || !result.IdToken) throw new SignInError("Cognito asks for another sign-in step; use a demo operator");
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
