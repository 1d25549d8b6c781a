//! Outgoing email. `Mailer::Smtp` talks to a real server (lettre, TLS per `SMTP_URL`);
//! `Mailer::Outbox` keeps messages in the database for the development mail viewer.
//! Nothing here is called from a request: apps enqueue jobs and the worker sends.

pub mod outbox;

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::kernel::clock::Clock;
use crate::kernel::config::Settings;
use crate::kernel::db::Db;

/// One email, already rendered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Makes the `Message-ID` (`<id@sender's domain>`): a job sends with its key, so a message
    /// delivered twice (at least once means that can happen) carries the same id both times.
    /// `None` lets the mailer pick a random one.
    pub id: Option<String>,
}

#[derive(Clone)]
pub enum Mailer {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox },
    Outbox { db: Db, clock: Clock },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mailer::Smtp { .. } => "Mailer::Smtp",
            Mailer::Outbox { .. } => "Mailer::Outbox",
        })
    }
}

impl Mailer {
    /// SMTP when `SMTP_URL` is set (in any mode) and `MAIL_OUTBOX` is not, the outbox otherwise.
    pub fn from_settings(settings: &Settings, db: &Db, clock: &Clock) -> anyhow::Result<Self> {
        match settings.smtp_url.as_ref().filter(|_| !settings.mail_outbox) {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|e| anyhow::anyhow!("SMTP_URL is not a valid SMTP address: {e}"))?
                    .timeout(Some(Duration::from_secs(15)))
                    .build();
                let from = settings.mail_from.parse().map_err(|e| anyhow::anyhow!("MAIL_FROM: {e}"))?;
                Ok(Mailer::Smtp { transport, from })
            }
            None => Ok(Mailer::Outbox { db: db.clone(), clock: clock.clone() }),
        }
    }

    pub async fn send(&self, message: &Message) -> anyhow::Result<()> {
        match self {
            Mailer::Smtp { transport, from } => {
                let message_id = message.id.as_ref().map(|id| format!("<{id}.shoestring@{}>", from.email.domain()));
                let builder = lettre::Message::builder()
                    .message_id(message_id)
                    .from(from.clone())
                    .to(message.to.parse()?)
                    .subject(&message.subject);
                // Error mail is plain text only.
                let email = if message.html.is_empty() {
                    builder.body(message.text.clone())?
                } else {
                    builder.multipart(MultiPart::alternative_plain_html(message.text.clone(), message.html.clone()))?
                };
                transport.send(email).await?;
                Ok(())
            }
            Mailer::Outbox { db, clock } => outbox::insert_message(db, message, clock.now()).await,
        }
    }
}
