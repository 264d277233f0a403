#![allow(clippy::disallowed_methods)] // the provider runs on the real clock, so do tokens made for it
//! The test identity provider: panva's oidc-provider (OpenID Certified,
//! Back-Channel Logout included), run by Node.js from
//! `backend/tests/support/oidc-provider.mjs` (which says how its sign-in
//! pages are filled in). `cargo xtask test` installs it and names its
//! folder in `VIGIL_OIDC_PROVIDER_DIR`. The RS256 key it signs with is made
//! here and kept, so a test can sign tokens the provider never issued.
//! Dropping an [`OidcProvider`] ends the process.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rsa::pkcs1v15;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The oidc-provider release `cargo xtask test` installs (xtask's
/// `tools/npm.rs`), for the message when it is missing.
const INSTALL_HINT: &str = "run `cargo xtask test`, which installs it, or \
     `npm install --prefix target/xtask/oidc-provider oidc-provider@8.8.1`";

/// How long Node.js may take to start the provider on a busy machine.
const STARTUP: Duration = Duration::from_secs(30);

/// What the provider knows: its clients (the Vigil under test), its people
/// and its key.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// 0: any free port. A fixed one lets a test restart "the same"
    /// provider (same issuer) with another key.
    pub port: u16,
    pub clients: Vec<ProviderClient>,
    pub accounts: Vec<ProviderAccount>,
    pub key: SigningKey,
}

impl ProviderConfig {
    /// Any free port, and the key every provider in this test binary
    /// shares unless given another ([`SigningKey::shared`]).
    pub fn new(clients: Vec<ProviderClient>, accounts: Vec<ProviderAccount>) -> Self {
        Self {
            port: 0,
            clients,
            accounts,
            key: SigningKey::shared(),
        }
    }
}

/// A relying party registered at the provider (OpenID Connect Dynamic
/// Client Registration's names).
#[derive(Debug, Clone, Serialize)]
pub struct ProviderClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// With `true` (the default) logout tokens carry the session's `sid`.
    pub backchannel_logout_session_required: bool,
    pub post_logout_redirect_uris: Vec<String>,
    /// `client_secret_basic` (the default, as openidconnect's client sends
    /// it) or `client_secret_post`.
    pub token_endpoint_auth_method: String,
}

impl ProviderClient {
    /// A confidential client that authenticates with HTTP Basic and has no
    /// back-channel logout URI yet.
    pub fn new(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uris: vec![redirect_uri.to_owned()],
            backchannel_logout_uri: None,
            backchannel_logout_session_required: true,
            post_logout_redirect_uris: Vec::new(),
            token_endpoint_auth_method: "client_secret_basic".to_owned(),
        }
    }

    /// Where the provider POSTs logout tokens for this client.
    pub fn backchannel_logout_uri(mut self, uri: &str) -> Self {
        self.backchannel_logout_uri = Some(uri.to_owned());
        self
    }
}

/// A person who can sign in at the provider: the sign-in page takes `sub`.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderAccount {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
}

impl ProviderAccount {
    /// A person whose email is verified, named after their `sub`.
    pub fn new(sub: &str, email: &str) -> Self {
        Self {
            sub: sub.to_owned(),
            email: email.to_owned(),
            email_verified: true,
            name: sub.to_owned(),
        }
    }
}

/// A provider's session, from its test control `GET /__test/sessions`.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderSession {
    pub sub: String,
    /// client_id → the `sid` that client's tokens carry.
    pub sids: BTreeMap<String, String>,
}

/// An RS256 key (RS256 is what OpenID Connect providers sign with unless a
/// client registers otherwise, and the one algorithm every client accepts).
#[derive(Clone)]
pub struct SigningKey {
    key: RsaPrivateKey,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new 2048-bit key. Seconds in an unoptimised build: use
    /// [`SigningKey::shared`] unless the test needs a key of its own.
    pub fn generate() -> Self {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        // RFC 7638's thumbprint: the members e, kty, n in that order.
        let thumbprint = json!({"e": b64(&key.e().to_bytes_be()), "kty": "RSA", "n": b64(&key.n().to_bytes_be())});
        let kid = b64(&Sha256::digest(thumbprint.to_string()));
        Self { key, kid }
    }

    /// One key for every provider of this test binary, made once.
    pub fn shared() -> Self {
        static SHARED: OnceLock<SigningKey> = OnceLock::new();
        SHARED.get_or_init(Self::generate).clone()
    }

    /// The key id the provider's JWKS and its tokens' headers carry.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK, as the provider's `jwks_uri` serves it.
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
            "n": b64(&self.key.n().to_bytes_be()),
            "e": b64(&self.key.e().to_bytes_be()),
        })
    }

    /// The private JWK, for the provider's `jwks` configuration.
    fn private_jwk(&self) -> Value {
        let k = &self.key;
        let [p, q] = k.primes() else {
            panic!("a two-prime RSA key")
        };
        let mut jwk = self.public_jwk();
        for (name, value) in [
            ("d", k.d().clone()),
            ("p", p.clone()),
            ("q", q.clone()),
            ("dp", k.dp().unwrap().clone()),
            ("dq", k.dq().unwrap().clone()),
            ("qi", k.crt_coefficient().unwrap()),
        ] {
            jwk[name] = b64(&value.to_bytes_be()).into();
        }
        jwk
    }

    /// A compact JWS of `claims`, signed RS256 with this key. The header is
    /// `{"alg":"RS256","kid":…,"typ":"JWT"}` with `header_overrides`
    /// merged in (`null` removes a member). The signature is always RS256,
    /// whatever `alg` says: a test of `alg: none` cuts it off itself.
    pub fn sign(&self, claims: &Value, header_overrides: &Value) -> String {
        let mut header = json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"});
        if let Some(overrides) = header_overrides.as_object() {
            for (name, value) in overrides {
                if value.is_null() {
                    header.as_object_mut().unwrap().remove(name);
                } else {
                    header[name] = value.clone();
                }
            }
        }
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signer = pkcs1v15::SigningKey::<Sha256>::new(self.key.clone());
        let signature = signer.sign(input.as_bytes()).to_bytes();
        format!("{input}.{}", b64(&signature))
    }
}

/// The test identity provider, listening on 127.0.0.1 until dropped.
#[derive(Debug)]
pub struct OidcProvider {
    issuer: String,
    key: SigningKey,
    child: Child,
    // Held so the provider's stdout stays open while it runs.
    _stdout: BufReader<ChildStdout>,
    // The configuration and the provider's stderr (`provider.log`).
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

/// The first line the script prints.
#[derive(Deserialize)]
struct Listening {
    issuer: String,
}

impl OidcProvider {
    /// Starts the provider and waits until it listens. Panics, saying what
    /// to install, when Node.js or oidc-provider is missing.
    pub async fn start(config: ProviderConfig) -> Self {
        tokio::task::spawn_blocking(move || Self::start_blocking(&config))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    fn start_blocking(config: &ProviderConfig) -> Self {
        let package = provider_dir();
        assert!(
            package
                .join("node_modules/oidc-provider/package.json")
                .is_file(),
            "oidc-provider is not installed in {}: {INSTALL_HINT}",
            package.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("provider.json");
        let json = json!({
            "port": config.port,
            "clients": config.clients,
            "accounts": config.accounts,
            "jwks": {"keys": [config.key.private_jwk()]},
        });
        std::fs::write(&config_path, json.to_string()).unwrap();
        let log = dir.path().join("provider.log");
        let mut child = Command::new("node")
            .arg(workspace().join("backend/tests/support/oidc-provider.mjs"))
            .arg(&config_path)
            .env("VIGIL_OIDC_PROVIDER_DIR", &package)
            // Held open until the child is killed; when it closes (this
            // test binary ended however) the script exits.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("the SSO tests run oidc-provider with Node.js (`node`), which could not start: {e}")
            });
        let stdout = child.stdout.take().unwrap();
        let (sent, received) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            let _ = sent.send((read, reader));
        });
        let (line, stdout) = match received.recv_timeout(STARTUP) {
            Ok((Ok(line), reader)) if !line.is_empty() => (line, reader),
            outcome => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the OpenID provider did not start ({}); its stderr:\n{}",
                    match outcome {
                        Err(_) => format!("nothing said within {STARTUP:?}"),
                        Ok((Err(e), _)) => e.to_string(),
                        Ok((Ok(_), _)) => "it exited".to_owned(),
                    },
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        let listening: Listening = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the provider's first line {line:?}: {e}"));
        Self {
            issuer: listening.issuer,
            key: config.key.clone(),
            child,
            _stdout: stdout,
            dir,
            http: reqwest::Client::new(),
        }
    }

    /// `http://127.0.0.1:PORT`, no trailing slash: the `iss` of its tokens
    /// and where `/.well-known/openid-configuration` is.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The key the provider signs with.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// A token signed with the provider's own key (see [`SigningKey::sign`]).
    pub fn sign(&self, claims: &Value, header_overrides: &Value) -> String {
        self.key.sign(claims, header_overrides)
    }

    /// The claims of a logout token as this provider makes them (OIDC
    /// Back-Channel Logout 1.0 §2.4), issued now; with `sign` and header
    /// `{"typ":"logout+jwt"}` a test forges one and changes what it tests.
    pub fn logout_claims(&self, client_id: &str, sub: &str, sid: Option<&str>) -> Value {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = json!({
            "iss": self.issuer,
            "aud": client_id,
            "sub": sub,
            "iat": now,
            "exp": now + 120,
            "jti": b64(&rand::random::<[u8; 16]>()),
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        });
        if let Some(sid) = sid {
            claims["sid"] = sid.into();
        }
        claims
    }

    /// The provider's live sessions and the `sid` each client was given.
    pub async fn sessions(&self) -> Vec<ProviderSession> {
        self.http
            .get(format!("{}/__test/sessions", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Makes the provider send `client_id`'s back-channel logout URI a real
    /// logout token for `sub` and `sid`, as its own logout does. `Err` says
    /// what went wrong, e.g. that the client did not answer 200.
    pub async fn trigger_backchannel_logout(
        &self,
        client_id: &str,
        sub: &str,
        sid: &str,
    ) -> Result<(), String> {
        let response = self
            .http
            .post(format!("{}/__test/backchannel-logout", self.issuer))
            .json(&json!({"client_id": client_id, "sub": sub, "sid": sid}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            let body: Value = response.json().await.map_err(|e| e.to_string())?;
            Err(body["error"]
                .as_str()
                .unwrap_or("no reason given")
                .to_owned())
        }
    }

    /// What the provider wrote to stderr so far (its warnings and errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("provider.log")).unwrap_or_default()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where oidc-provider's `node_modules` is: `VIGIL_OIDC_PROVIDER_DIR` (a
/// relative path from the workspace, since tests run in `backend/`), else
/// where `cargo xtask test` puts it.
fn provider_dir() -> PathBuf {
    let dir = std::env::var_os("VIGIL_OIDC_PROVIDER_DIR").map_or_else(
        || PathBuf::from("target/xtask/oidc-provider"),
        PathBuf::from,
    );
    workspace().join(dir)
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `BigUint` from a base64url JWK member (for tests that read a JWKS).
pub fn jwk_number(value: &Value) -> BigUint {
    BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(value.as_str().unwrap()).unwrap())
}
