//! Protocol header sniffing and the SASL exchange (ANONYMOUS, PLAIN), up to the point
//! where AMQP frames start.

use std::io;

use bytes::BytesMut;
use fe2o3_amqp_types::sasl::{SaslCode, SaslInit, SaslMechanisms, SaslOutcome};
use serde_amqp::primitives::{Array, Symbol};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{
    config::{PlainCredentials, SaslPolicy},
    decode::{decode_lenient, described_list_span},
    frame::{parse_frame, write_frame, FRAME_TYPE_SASL},
    wellformed::validate_encoded,
};

/// `AMQP 0 1.0.0`: plain AMQP.
pub(crate) const AMQP_HEADER: [u8; 8] = *b"AMQP\x00\x01\x00\x00";
/// `AMQP 3 1.0.0`: SASL.
pub(crate) const SASL_HEADER: [u8; 8] = *b"AMQP\x03\x01\x00\x00";
/// SASL frames are small; PLAIN with a long SAS key still fits easily.
const MAX_SASL_FRAME: u32 = 64 * 1024;

/// Who the client said it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SaslIdentity {
    pub mechanism: Option<String>,
    pub identity: Option<String>,
}

/// Result of the handshake.
#[derive(Debug)]
pub(crate) enum Handshake {
    /// AMQP frames follow (any bytes already read stay in the buffer).
    Amqp(SaslIdentity),
    /// We answered with our header or a failed outcome; close the transport.
    Refused(&'static str),
}

async fn read_at_least<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
    n: usize,
) -> io::Result<bool> {
    while buf.len() < n {
        buf.reserve(4096);
        if stream.read_buf(buf).await? == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Reads the client's protocol header(s) and runs SASL if asked for.
pub(crate) async fn handshake<S>(
    stream: &mut S,
    buf: &mut BytesMut,
    policy: &SaslPolicy,
) -> io::Result<Handshake>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if !read_at_least(stream, buf, 8).await? {
        return Ok(Handshake::Refused(
            "connection closed before the protocol header",
        ));
    }
    let header = buf.split_to(8);
    match header[..] {
        [b'A', b'M', b'Q', b'P', 3, 1, 0, 0] => {}
        [b'A', b'M', b'Q', b'P', 0, 1, 0, 0] => {
            if policy.allow_no_sasl {
                stream.write_all(&AMQP_HEADER).await?;
                return Ok(Handshake::Amqp(SaslIdentity::default()));
            }
            stream.write_all(&SASL_HEADER).await?;
            return Ok(Handshake::Refused("client skipped SASL, which is required"));
        }
        [b'A', b'M', b'Q', b'P', 2, ..] => {
            stream.write_all(&SASL_HEADER).await?;
            return Ok(Handshake::Refused(
                "TLS upgrade requested, which is not supported",
            ));
        }
        _ => {
            stream.write_all(&AMQP_HEADER).await?;
            return Ok(Handshake::Refused("unsupported protocol header"));
        }
    }

    let mut out = BytesMut::with_capacity(128);
    out.extend_from_slice(&SASL_HEADER);
    let mut mechanisms = Vec::new();
    if policy.allow_anonymous {
        mechanisms.push(Symbol::from("ANONYMOUS"));
    }
    if policy.allow_plain {
        mechanisms.push(Symbol::from("PLAIN"));
    }
    let offer = SaslMechanisms {
        sasl_server_mechanisms: Array::from(mechanisms),
    };
    encode(&mut out, &offer)?;
    stream.write_all(&out).await?;
    out.clear();

    let Some(init) = read_init(stream, buf).await? else {
        return Ok(Handshake::Refused("SASL exchange aborted"));
    };
    let identity = authenticate(&init, policy);
    let code = if identity.is_some() {
        SaslCode::Ok
    } else {
        SaslCode::Auth
    };
    encode(
        &mut out,
        &SaslOutcome {
            code,
            additional_data: None,
        },
    )?;
    stream.write_all(&out).await?;
    let Some(identity) = identity else {
        stream.flush().await?;
        return Ok(Handshake::Refused("SASL authentication failed"));
    };

    if !read_at_least(stream, buf, 8).await? {
        return Ok(Handshake::Refused("connection closed after SASL"));
    }
    let header = buf.split_to(8);
    stream.write_all(&AMQP_HEADER).await?;
    if header[..] != AMQP_HEADER {
        return Ok(Handshake::Refused("expected the AMQP header after SASL"));
    }
    Ok(Handshake::Amqp(identity))
}

fn encode<T: serde::Serialize>(out: &mut BytesMut, body: &T) -> io::Result<()> {
    write_frame(out, FRAME_TYPE_SASL, 0, body)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
}

/// Reads the client's `sasl-init`; `None` if the client hung up or sent something else.
async fn read_init<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> io::Result<Option<SaslInit>> {
    loop {
        let frame = match parse_frame(buf, MAX_SASL_FRAME) {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                if !read_at_least(stream, buf, buf.len() + 1).await? {
                    return Ok(None);
                }
                continue;
            }
            Err(_) => return Ok(None),
        };
        if frame.frame_type != FRAME_TYPE_SASL || frame.body.is_empty() {
            return Ok(None);
        }
        return Ok(match described_list_span(&frame.body) {
            Ok((0x41, len)) if validate_encoded(&frame.body[..len]).is_ok() => {
                decode_lenient::<SaslInit>(&frame.body[..len], "sasl-init").ok()
            }
            _ => None,
        });
    }
}

/// Checks the mechanism and credentials; the identity on success.
fn authenticate(init: &SaslInit, policy: &SaslPolicy) -> Option<SaslIdentity> {
    let response: &[u8] = init
        .initial_response
        .as_deref()
        .map_or(&[], |r| r.as_slice());
    match init.mechanism.as_str() {
        "ANONYMOUS" if policy.allow_anonymous => {
            let trace = String::from_utf8_lossy(response);
            let trace = trace.trim_start_matches('\0');
            Some(SaslIdentity {
                mechanism: Some("ANONYMOUS".to_owned()),
                identity: (!trace.is_empty()).then(|| trace.to_owned()),
            })
        }
        "PLAIN" if policy.allow_plain => {
            let mut parts = response.split(|b| *b == 0);
            let (authzid, username, password) = (parts.next()?, parts.next()?, parts.next()?);
            let credentials = PlainCredentials {
                authzid: String::from_utf8_lossy(authzid).into_owned(),
                username: String::from_utf8_lossy(username).into_owned(),
                password: String::from_utf8_lossy(password).into_owned(),
            };
            let ok = policy
                .plain_check
                .as_ref()
                .is_none_or(|check| check(&credentials));
            ok.then(|| SaslIdentity {
                mechanism: Some("PLAIN".to_owned()),
                identity: Some(credentials.username),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn init(mechanism: &str, response: &[u8]) -> SaslInit {
        SaslInit {
            mechanism: Symbol::from(mechanism),
            initial_response: Some(response.to_vec().into()),
            hostname: None,
        }
    }

    #[test]
    fn anonymous_records_the_trace_and_plain_the_user() {
        let policy = SaslPolicy::default();
        let anon =
            authenticate(&init("ANONYMOUS", b"\0RootManageSharedAccessKey"), &policy).unwrap();
        assert_eq!(anon.identity.as_deref(), Some("RootManageSharedAccessKey"));
        let plain = authenticate(&init("PLAIN", b"\0user\0secret"), &policy).unwrap();
        assert_eq!(
            (plain.mechanism.as_deref(), plain.identity.as_deref()),
            (Some("PLAIN"), Some("user"))
        );
    }

    #[test]
    fn plain_check_and_unknown_mechanisms_fail() {
        let policy = SaslPolicy {
            plain_check: Some(Arc::new(|c: &PlainCredentials| c.password == "right")),
            ..SaslPolicy::default()
        };
        assert!(authenticate(&init("PLAIN", b"\0user\0wrong"), &policy).is_none());
        assert!(authenticate(&init("PLAIN", b"\0user\0right"), &policy).is_some());
        assert!(authenticate(&init("PLAIN", b"no-separators"), &policy).is_none());
        assert!(authenticate(&init("MSSBCBS", b""), &policy).is_none());
    }
}
