//! The Entra application's own credential: how this server proves itself at a token
//! endpoint, with the client secret (`MEDIMAIL_CLIENT_SECRET_FILE`) or a certificate and
//! its key (`MEDIMAIL_CLIENT_CERTIFICATE_FILE`, a signed client assertion, RS256 with
//! `x5t#S256`). The dialog sign-in (code exchange) and the Graph mailer (client
//! credentials) both use it; it depends on nothing of theirs.

use base64::Engine;

/// How the server proves itself at the token endpoint.
pub enum ClientAuth {
    Secret(String),
    /// RSA private key (PEM) and the certificate's SHA-256 thumbprint (base64url).
    Certificate {
        key: jsonwebtoken::EncodingKey,
        thumbprint: String,
    },
}

/// Reads the certificate file: its first certificate and its private key.
pub fn certificate(path: &std::path::Path) -> Result<ClientAuth, String> {
    use sha2::Digest;
    let pem = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let block = |label: &str| -> Option<String> {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let from = pem.find(&begin)?;
        let to = pem[from..].find(&end)? + from + end.len();
        Some(pem[from..to].to_owned())
    };
    let cert = block("CERTIFICATE").ok_or("no CERTIFICATE block")?;
    let der: String = cert.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(der.trim())
        .map_err(|e| e.to_string())?;
    let key_pem = block("PRIVATE KEY")
        .or_else(|| block("RSA PRIVATE KEY"))
        .ok_or("no PRIVATE KEY block")?;
    let key =
        jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes()).map_err(|e| e.to_string())?;
    Ok(ClientAuth::Certificate {
        key,
        thumbprint: base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(&der)),
    })
}

/// A client assertion for the token endpoint (RFC 7523, Entra's certificate credential).
pub fn client_assertion(
    key: &jsonwebtoken::EncodingKey,
    thumbprint: &str,
    client_id: &str,
    token_url: &str,
    now: i64,
) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.x5t_s256 = Some(thumbprint.to_owned());
    let claims = serde_json::json!({
        "aud": token_url,
        "iss": client_id,
        "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    });
    jsonwebtoken::encode(&header, &claims, key)
}
