//! The accounts app's emails. Services enqueue an `AccountEmail` in their transaction; the
//! worker composes and sends it. Link tokens are derived here from the queued nonce, and a
//! link voided before the worker got to it is not sent at all.

use askama::Template;
use serde::{Deserialize, Serialize};

use super::store;
use crate::kernel::AppState;
use crate::kernel::config::Settings;
use crate::kernel::db::Tx;
use crate::kernel::email::Message;
use crate::kernel::jobs;
use crate::kernel::security::token::{derive_token, hash_token};

pub const JOB_KIND: &str = "accounts.email";
/// Where a personal address's confirmation link lands (a page of this app's; the playbook's
/// frontend has none, so unlike the other links it is not a setting).
const PERSONAL_EMAIL_LINK: &str = "/accounts/personal-email/confirm/{token}/";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "template", rename_all = "snake_case")]
pub enum AccountEmail {
    Confirm { user_id: i64, nonce: String },
    PasswordReset { user_id: i64, nonce: String },
    EmailChange { user_id: i64, nonce: String, new_email: String },
    PersonalEmail { user_id: i64, nonce: String, email: String },
    PersonalEmailAdded { to: String, username: String, personal: String },
    SignupAttempt { to: String },
    PasswordChanged { to: String, username: String },
    EmailChanged { to: String, username: String, new_email: String },
    Goodbye { to: String, username: String },
}

pub async fn enqueue(tx: &mut Tx, mail: &AccountEmail, now: i64) -> anyhow::Result<()> {
    jobs::enqueue(tx, JOB_KIND, mail, now).await
}

/// The job handler: compose and send, with the job's key as the message's id (the same on a
/// retry). A mail whose user or link is gone is dropped quietly.
pub async fn deliver(state: &AppState, mail: AccountEmail, job_key: &str) -> anyhow::Result<()> {
    if let Some(mut message) = compose(state, mail).await? {
        message.id = Some(job_key.to_owned());
        state.send_email(&message).await?;
    }
    Ok(())
}

/// One email's content; the text and HTML templates lay it out.
struct Mail {
    greeting: String,
    paragraphs: Vec<String>,
    action: Option<(String, String)>,
    closing: Vec<String>,
}

#[derive(Template)]
#[template(path = "emails/message.txt")]
struct TextBody<'a> {
    mail: &'a Mail,
}

#[derive(Template)]
#[template(path = "emails/message.html")]
struct HtmlBody<'a> {
    mail: &'a Mail,
    subject: &'a str,
}

fn message(to: String, subject: &str, mail: &Mail) -> anyhow::Result<Message> {
    Ok(Message {
        to,
        subject: subject.to_owned(),
        text: TextBody { mail }.render()?,
        html: HtmlBody { mail, subject }.render()?,
        id: None,
    })
}

/// `Some((username, address, link))` when the user exists and the link is still live: the link
/// goes to the address it was issued for. `template` is one of the `*_LINK` settings.
async fn link(
    state: &AppState,
    user_id: i64,
    nonce: &str,
    template: &str,
) -> anyhow::Result<Option<(String, String, String)>> {
    let Some(user) = store::find_user(&state.db.pool, user_id).await? else {
        return Ok(None);
    };
    let token = derive_token(state.settings.secret_key.expose(), nonce);
    let Some(email) = store::live_token_email(&state.db.pool, &hash_token(&token), state.clock.now()).await? else {
        return Ok(None);
    };
    Ok(Some((user.username, email, state.settings.link(template, &token))))
}

/// The words of an email that carries a link.
struct LinkWords<'a> {
    template: &'a str,
    subject: &'static str,
    paragraphs: Vec<String>,
    button: &'static str,
    expiry: String,
}

/// The user, nonce and words of a link email; a notice comes back as it is.
fn link_words(settings: &Settings, mail: AccountEmail) -> Result<(i64, String, LinkWords<'_>), AccountEmail> {
    let hours = format!("{} hours", settings.confirmation_ttl_hours);
    Ok(match mail {
        AccountEmail::Confirm { user_id, nonce } => (user_id, nonce, LinkWords {
            template: &settings.confirm_link,
            subject: "Confirm your Shoestring account",
            paragraphs: vec!["Welcome to Shoestring! Please confirm your email address to activate your account.".into()],
            button: "Confirm my account",
            expiry: hours,
        }),
        AccountEmail::PasswordReset { user_id, nonce } => (user_id, nonce, LinkWords {
            template: &settings.reset_link,
            subject: "Reset your Shoestring password",
            paragraphs: vec!["Someone asked to reset the password of your Shoestring account.".into()],
            button: "Choose a new password",
            expiry: format!("{} minutes", settings.password_reset_ttl_minutes),
        }),
        AccountEmail::EmailChange { user_id, nonce, new_email } => (user_id, nonce, LinkWords {
            template: &settings.email_change_link,
            subject: "Confirm your new email address",
            paragraphs: vec![format!("Please confirm that {new_email} is your new email address for Shoestring.")],
            button: "Confirm my new address",
            expiry: hours,
        }),
        AccountEmail::PersonalEmail { user_id, nonce, email } => (user_id, nonce, LinkWords {
            template: PERSONAL_EMAIL_LINK,
            subject: "Confirm your personal email address",
            paragraphs: vec![
                format!("Please confirm that {email} is your personal address for Shoestring."),
                "Password resets can then be sent here, and your badges are issued to it, so you keep them if you lose your work mailbox.".into(),
            ],
            button: "Confirm my personal address",
            expiry: hours,
        }),
        notice => return Err(notice),
    })
}

async fn compose(state: &AppState, mail: AccountEmail) -> anyhow::Result<Option<Message>> {
    let (user_id, nonce, words) = match link_words(&state.settings, mail) {
        Ok(link_mail) => link_mail,
        Err(notice) => return compose_notice(state, notice).map(Some),
    };
    // The link goes to the address it was issued for: the account's, or the new or personal one.
    let Some((username, to, url)) = link(state, user_id, &nonce, words.template).await? else {
        return Ok(None);
    };
    let body = Mail {
        greeting: format!("Hi {username},"),
        paragraphs: words.paragraphs,
        action: Some((words.button.into(), url)),
        closing: vec![
            format!("This link works once and expires in {}.", words.expiry),
            "If you did not ask for this, you can ignore this email.".into(),
        ],
    };
    Ok(Some(message(to, words.subject, &body)?))
}

/// Notices that carry no token link.
fn compose_notice(state: &AppState, mail: AccountEmail) -> anyhow::Result<Message> {
    let base = state.settings.base_url();
    let reset = Some(("Reset my password".to_owned(), format!("{base}/accounts/password-reset/")));
    let (to, subject, body) = match mail {
        AccountEmail::SignupAttempt { to } => (to, "Someone tried to sign up with your address", Mail {
            greeting: "Hello,".into(),
            paragraphs: vec![
                "Someone tried to create a Shoestring account with this email address, which already has an account.".into(),
                "If it was you, log in instead, or reset your password if you forgot it.".into(),
            ],
            action: reset,
            closing: vec!["If it was not you, you can ignore this email: nothing has changed.".into()],
        }),
        AccountEmail::PasswordChanged { to, username } => (to, "Your password was changed", Mail {
            greeting: format!("Hi {username},"),
            paragraphs: vec!["The password of your Shoestring account was just changed, and your other sessions were signed out.".into()],
            action: reset,
            closing: vec!["If you did not do this, reset your password now.".into()],
        }),
        AccountEmail::EmailChanged { to, username, new_email } => (to, "Your email address was changed", Mail {
            greeting: format!("Hi {username},"),
            paragraphs: vec![format!("Your Shoestring account now uses {new_email}. Emails will no longer come to this address.")],
            action: None,
            closing: vec!["If you did not do this, reply to this email right away.".into()],
        }),
        AccountEmail::PersonalEmailAdded { to, username, personal } => (to, "A personal address was added to your account", Mail {
            greeting: format!("Hi {username},"),
            paragraphs: vec![format!("{personal} is now the personal address of your Shoestring account: password resets can be sent to it.")],
            action: reset,
            closing: vec!["If you did not do this, reset your password now and remove the address from your profile.".into()],
        }),
        AccountEmail::Goodbye { to, username } => (to, "Your account was deleted", Mail {
            greeting: format!("Goodbye {username},"),
            paragraphs: vec!["Your Shoestring account and its personal data have been deleted. We are sorry to see you go.".into()],
            action: None,
            closing: vec!["You are welcome back any time.".into()],
        }),
        AccountEmail::Confirm { .. }
        | AccountEmail::PasswordReset { .. }
        | AccountEmail::EmailChange { .. }
        | AccountEmail::PersonalEmail { .. } => {
            anyhow::bail!("link emails are composed by `compose`")
        }
    };
    message(to, subject, &body)
}
