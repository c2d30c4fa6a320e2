//! What CloudTrail signs, and signing it the same way (for generated test data).
//!
//! The string to sign is
//!
//! ```text
//! <digestEndTime>\n<digestS3Bucket>/<digestS3Object>\n<hex SHA-256 of the uncompressed digest>\n<previousDigestSignature, or null>
//! ```
//!
//! signed with RSA PKCS#1 v1.5 over SHA-256 and hex-encoded into the digest object's
//! `x-amz-meta-signature` metadata; the next digest repeats it as `previousDigestSignature`.

use std::path::Path;

use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

use crate::IntegrityError;
use crate::digest::DigestFile;
use crate::keys::PublicKey;

/// The bytes a digest's signature covers.
pub fn string_to_sign(digest: &DigestFile, content_sha256_hex: &str) -> String {
    format!(
        "{}\n{}/{}\n{}\n{}",
        digest.digest_end_time,
        digest.digest_s3_bucket,
        digest.digest_s3_object,
        content_sha256_hex,
        digest
            .previous_digest_signature
            .as_deref()
            .unwrap_or("null")
    )
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// An RSA private key that signs digests as CloudTrail does.
pub struct DigestSigner {
    key: RsaKeyPair,
    public: PublicKey,
    random: SystemRandom,
}

impl std::fmt::Debug for DigestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestSigner")
            .field("fingerprint", &self.public.fingerprint)
            .finish_non_exhaustive()
    }
}

impl DigestSigner {
    /// Loads a PEM private key: PKCS#8 (`PRIVATE KEY`, what `openssl genpkey` writes) or PKCS#1
    /// (`RSA PRIVATE KEY`), 2048 to 4096 bits.
    ///
    /// # Errors
    ///
    /// [`IntegrityError::PrivateKey`] naming the file and the problem.
    pub fn from_pem_file(path: &Path) -> Result<DigestSigner, IntegrityError> {
        let fail = |reason: String| IntegrityError::PrivateKey {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|err| fail(err.to_string()))?;
        let block = pem::parse(&text).map_err(|err| fail(format!("not a PEM file ({err})")))?;
        let key = match block.tag() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(block.contents()),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(block.contents()),
            other => {
                return Err(fail(format!(
                    "a PEM {other:?} block is not an RSA private key; create one with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out {}`",
                    path.display()
                )));
            }
        }
        .map_err(|err| fail(format!("not a usable RSA key of 2048 to 4096 bits ({err})")))?;
        let public = PublicKey::from_pkcs1_der(key.public().as_ref().to_vec());
        Ok(DigestSigner {
            key,
            public,
            random: SystemRandom::new(),
        })
    }

    /// The matching public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Hex signature of `message`.
    ///
    /// # Errors
    ///
    /// [`IntegrityError::Signing`] if the crypto library fails (it does not for a loaded key).
    pub fn sign_hex(&self, message: &[u8]) -> Result<String, IntegrityError> {
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.random, message, &mut signature)
            .map_err(|_| IntegrityError::Signing)?;
        Ok(hex::encode(signature))
    }
}
