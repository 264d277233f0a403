//! The test identity provider on its own, no Vigil: proof that it is a real
//! OpenID provider, that signing in at it goes as the SSO tests expect
//! (PKCE, the email from userinfo), and that its back-channel logout
//! reaches a client on 127.0.0.1. The fixture the SSO tests use is in
//! `oidc_provider/fixture.rs`.

pub mod fixture;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::{header, redirect, RequestBuilder, Response, StatusCode, Url};
use rsa::pkcs1v15;
use rsa::signature::Verifier;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use fixture::{OidcProvider, ProviderAccount, ProviderClient, ProviderConfig};

const CLIENT_ID: &str = "vigil";
const CLIENT_SECRET: &str = "a-client-secret-of-some-length";
const REDIRECT_URI: &str = "http://127.0.0.1:9/api/auth/sso/callback";

#[tokio::test]
async fn the_test_provider_is_a_real_oidc_provider() {
    let provider = OidcProvider::start(ProviderConfig::new(
        vec![ProviderClient::new(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)],
        vec![],
    ))
    .await;
    let discovery = discover(&provider).await;
    assert_eq!(discovery["issuer"], provider.issuer());
    assert_eq!(discovery["backchannel_logout_supported"], true);
    assert_eq!(discovery["backchannel_logout_session_supported"], true);
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert!(
        discovery["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_secret_basic")),
        "{discovery}"
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );

    let keys = jwks(&discovery).await;
    assert_eq!(
        keys,
        json!([provider.key().public_jwk()]),
        "the JWKS serves the key given, public members only"
    );
}

#[tokio::test]
async fn a_sign_in_puts_the_email_in_userinfo_and_the_logout_token_reaches_the_client() {
    let (logout_uri, logout_posts) = one_request_listener();
    let provider = OidcProvider::start(ProviderConfig::new(
        vec![ProviderClient::new(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
            .backchannel_logout_uri(&logout_uri)],
        vec![ProviderAccount::new("ada", "ada@demo.test")],
    ))
    .await;
    let discovery = discover(&provider).await;
    let keys = jwks(&discovery).await;
    let mut browser = CookieJarClient::new();

    // Without PKCE the provider refuses, back at the client.
    let refused = browser
        .follow(authorization_url(&discovery, None))
        .await
        .unwrap_err();
    assert!(
        refused.contains("error=invalid_request") && refused.contains("requires+PKCE"),
        "{refused}"
    );

    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let login = browser
        .follow(authorization_url(&discovery, Some(&verifier)))
        .await
        .unwrap();
    assert!(
        login.contains("<h1>Sign-in</h1>")
            && login.contains("name=\"login\"")
            && login.contains("name=\"password\"")
            && login.contains(">Sign-in</button>"),
        "the dev sign-in page the browser tests fill in: {login}"
    );
    let consent = browser
        .submit(
            &login,
            &[("prompt", "login"), ("login", "ada"), ("password", "any")],
        )
        .await
        .unwrap();
    assert!(
        consent.contains("<h1>Authorize</h1>") && consent.contains(">Continue</button>"),
        "{consent}"
    );
    let callback = browser
        .submit(&consent, &[("prompt", "consent")])
        .await
        .unwrap_err();
    let callback = Url::parse(&callback).unwrap();
    let query: BTreeMap<_, _> = callback.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "the-state");
    assert_eq!(query["iss"], provider.issuer(), "RFC 9207's iss");

    let tokens: Value = reqwest::Client::new()
        .post(discovery["token_endpoint"].as_str().unwrap())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &query["code"]),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (header, id_token) = verified(tokens["id_token"].as_str().unwrap(), &keys);
    assert_eq!(header["kid"], provider.key().kid());
    assert_eq!(id_token["iss"], provider.issuer());
    assert_eq!(id_token["aud"], CLIENT_ID);
    assert_eq!(id_token["sub"], "ada");
    assert_eq!(id_token["nonce"], "the-nonce");
    assert_eq!(id_token.get("email"), None, "the email is in userinfo only");
    let userinfo: Value = reqwest::Client::new()
        .get(discovery["userinfo_endpoint"].as_str().unwrap())
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        userinfo,
        json!({"sub": "ada", "email": "ada@demo.test", "email_verified": true})
    );

    let sid = id_token["sid"].as_str().unwrap();
    let sessions = provider.sessions().await;
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0].sub, "ada");
    assert_eq!(sessions[0].sids[CLIENT_ID], sid);

    provider
        .trigger_backchannel_logout(CLIENT_ID, "ada", sid)
        .await
        .unwrap();
    let body = logout_posts
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    let form: BTreeMap<_, _> = Url::parse(&format!("http://form/?{body}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let (header, logout) = verified(&form["logout_token"], &keys);
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(logout["sid"], sid);
    assert_eq!(logout.get("nonce"), None);

    // A token made here has what the provider's has, under the same key.
    let forged = provider.sign(
        &provider.logout_claims(CLIENT_ID, "ada", Some(sid)),
        &json!({"typ": "logout+jwt"}),
    );
    let (forged_header, forged) = verified(&forged, &keys);
    assert_eq!(forged_header, header);
    let members = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(members(&forged), members(&logout));
    for member in ["iss", "aud", "sub", "sid", "events"] {
        assert_eq!(forged[member], logout[member], "{member}");
    }
    assert!(!provider.log().contains("error"), "{}", provider.log());
}

async fn discover(provider: &OidcProvider) -> Value {
    reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        provider.issuer()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

/// The keys the provider's `jwks_uri` serves.
async fn jwks(discovery: &Value) -> Value {
    let jwks: Value = reqwest::get(discovery["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"].clone()
}

/// The header and claims of a JWS whose RS256 signature a key of `keys`
/// (a JWKS's `keys`) verifies.
fn verified(jws: &str, keys: &Value) -> (Value, Value) {
    let decode = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let (input, signature) = jws.rsplit_once('.').unwrap();
    let (header, claims) = input.split_once('.').unwrap();
    let header = decode(header);
    let key = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap_or_else(|| panic!("no key {} in {keys}", header["kid"]));
    let public = rsa::RsaPublicKey::new(
        fixture::jwk_number(&key["n"]),
        fixture::jwk_number(&key["e"]),
    )
    .unwrap();
    let signature =
        pkcs1v15::Signature::try_from(URL_SAFE_NO_PAD.decode(signature).unwrap().as_slice())
            .unwrap();
    pkcs1v15::VerifyingKey::<Sha256>::new(public)
        .verify(input.as_bytes(), &signature)
        .unwrap();
    (header, decode(claims))
}

/// The authorization request of a code flow for `openid email`, with PKCE
/// (S256) when there is a verifier.
fn authorization_url(discovery: &Value, verifier: Option<&str>) -> String {
    let mut url = Url::parse(discovery["authorization_endpoint"].as_str().unwrap()).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email")
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("state", "the-state")
        .append_pair("nonce", "the-nonce");
    if let Some(verifier) = verifier {
        url.query_pairs_mut()
            .append_pair(
                "code_challenge",
                &URL_SAFE_NO_PAD.encode(Sha256::digest(verifier)),
            )
            .append_pair("code_challenge_method", "S256");
    }
    url.into()
}

/// Just enough of a browser for the provider's pages: cookies by name
/// (one host), redirects followed by hand.
pub struct CookieJarClient {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    /// The page last landed on, which a form's action is relative to.
    base: Option<Url>,
    /// Redirects to URLs starting with this lead back to the client.
    stop_at: String,
}

impl CookieJarClient {
    pub fn new() -> Self {
        Self::stopping_at(REDIRECT_URI)
    }

    /// A browser whose redirects stop at `client` (the client's callback).
    pub fn stopping_at(client: &str) -> Self {
        Self {
            stop_at: client.to_owned(),
            http: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            base: None,
        }
    }

    async fn send(&mut self, request: RequestBuilder) -> Response {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request.header(header::COOKIE, cookie).send().await.unwrap();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
        response
    }

    /// GETs `url` and follows redirects: `Ok` with the page where they
    /// stop, `Err` with the URL once they lead back to the client.
    pub async fn follow(&mut self, url: String) -> Result<String, String> {
        let response = self.send(self.http.get(&url)).await;
        self.landing(response).await
    }

    /// Submits the page's form with `fields`, then follows redirects.
    pub async fn submit(&mut self, page: &str, fields: &[(&str, &str)]) -> Result<String, String> {
        let action = page
            .split("action=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no form in {page}"));
        let url = self.base.as_ref().unwrap().join(action).unwrap();
        let response = self.send(self.http.post(url).form(fields)).await;
        self.landing(response).await
    }

    async fn landing(&mut self, mut response: Response) -> Result<String, String> {
        loop {
            self.base = Some(response.url().clone());
            if !response.status().is_redirection() {
                assert_eq!(response.status(), StatusCode::OK);
                return Ok(response.text().await.unwrap());
            }
            let location = response.headers()[header::LOCATION].to_str().unwrap();
            let next = response.url().join(location).unwrap();
            if next.as_str().starts_with(&self.stop_at) {
                return Err(next.into());
            }
            response = self.send(self.http.get(next)).await;
        }
    }
}

/// A listener on 127.0.0.1 that answers one HTTP request 200 and passes
/// on its body: the client's back-channel logout URI.
fn one_request_listener() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!(
        "http://{}/backchannel-logout",
        listener.local_addr().unwrap()
    );
    let (sent, received) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buffer = [0; 4096];
        let body_start = loop {
            let n = stream.read(&mut buffer).unwrap();
            assert!(n > 0, "the request ended early");
            request.extend_from_slice(&buffer[..n]);
            if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
        };
        let head = String::from_utf8_lossy(&request[..body_start]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        while request.len() < body_start + length {
            let n = stream.read(&mut buffer).unwrap();
            request.extend_from_slice(&buffer[..n]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        let body = String::from_utf8(request[body_start..].to_vec()).unwrap();
        let _ = sent.send(body);
    });
    (uri, received)
}
