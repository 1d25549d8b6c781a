//! The keys of backup archives, in the age format: an archive is sealed to one public key
//! (`BACKUP_RECIPIENT`) or to a passphrase (`BACKUP_PASSPHRASE`, scrypt), and opened with the
//! matching identity file or passphrase. Key material stays in `Secret`s and age's own
//! zeroising types; nothing here prints it.

use std::io::{BufReader, Read, Write};

use age::secrecy::SecretString;

use crate::kernel::config::{Secret, StorageSettings};

#[derive(Clone, Default)]
pub struct ArchiveKeys {
    recipient: Option<age::x25519::Recipient>,
    passphrase: Option<Secret>,
    identity_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for ArchiveKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveKeys")
            .field("recipient", &self.recipient.as_ref().map(ToString::to_string))
            .field("passphrase", &self.passphrase.as_ref().map(|_| "***"))
            .field("identity_file", &self.identity_file)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("BACKUP_RECIPIENT is not an age public key (age1…)")]
    BadRecipient,
    #[error("could not read the identity file {0}: {1}")]
    IdentityFile(String, String),
    #[error("this archive is encrypted: set BACKUP_PASSPHRASE or BACKUP_IDENTITY_FILE to open it")]
    NoKey,
    #[error("none of the keys given opens this archive (wrong passphrase or identity)")]
    WrongKey,
    #[error("this archive's encryption header is damaged: {0}")]
    Damaged(String),
}

impl ArchiveKeys {
    pub fn from_settings(settings: &StorageSettings) -> Result<Self, KeyError> {
        let recipient = match &settings.backup_recipient {
            Some(r) => Some(r.trim().parse::<age::x25519::Recipient>().map_err(|_| KeyError::BadRecipient)?),
            None => None,
        };
        Ok(Self {
            recipient,
            passphrase: settings.backup_passphrase.clone(),
            identity_file: settings.backup_identity_file.clone(),
        })
    }

    pub fn with_passphrase(passphrase: &str) -> Self {
        Self { passphrase: Some(Secret::new(passphrase)), ..Self::default() }
    }

    pub fn is_sealing(&self) -> bool {
        self.recipient.is_some() || self.passphrase.is_some()
    }

    /// Wraps `output` so that what is written to it is encrypted; without a key, hands it back.
    pub fn seal<W: Write>(&self, output: W) -> std::io::Result<Result<age::stream::StreamWriter<W>, W>> {
        let encryptor = if let Some(recipient) = &self.recipient {
            age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
                .map_err(std::io::Error::other)?
        } else if let Some(passphrase) = &self.passphrase {
            age::Encryptor::with_user_passphrase(SecretString::from(passphrase.expose().to_owned()))
        } else {
            return Ok(Err(output));
        };
        encryptor.wrap_output(output).map(Ok)
    }

    /// A reader of the plaintext of an age-encrypted `input`.
    pub fn open<R: Read>(&self, input: R) -> Result<age::stream::StreamReader<R>, KeyError> {
        let decryptor = age::Decryptor::new(input).map_err(|e| KeyError::Damaged(e.to_string()))?;
        let identities = self.identities(decryptor.is_scrypt())?;
        decryptor.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity)).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => KeyError::WrongKey,
            other => KeyError::Damaged(other.to_string()),
        })
    }

    fn identities(&self, scrypt: bool) -> Result<Vec<Box<dyn age::Identity>>, KeyError> {
        let mut identities: Vec<Box<dyn age::Identity>> = Vec::new();
        if scrypt {
            if let Some(passphrase) = &self.passphrase {
                identities
                    .push(Box::new(age::scrypt::Identity::new(SecretString::from(passphrase.expose().to_owned()))));
            }
        } else if let Some(path) = &self.identity_file {
            let shown = path.display().to_string();
            let file = std::fs::File::open(path).map_err(|e| KeyError::IdentityFile(shown.clone(), e.to_string()))?;
            let parsed = age::IdentityFile::from_buffer(BufReader::new(file))
                .and_then(|f| f.into_identities().map_err(std::io::Error::other))
                .map_err(|e| KeyError::IdentityFile(shown, e.to_string()))?;
            identities.extend(parsed.into_iter().map(|i| i as Box<dyn age::Identity>));
        }
        if identities.is_empty() {
            return Err(KeyError::NoKey);
        }
        Ok(identities)
    }
}
