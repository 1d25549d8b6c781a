//! Page form input. Fields default to empty so a missing field is a form error, never a 400
//! from the extractor; `next` is checked so a login can never redirect off-site.

use serde::Deserialize;

use crate::kernel::security::password::Password;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignupForm {
    pub username: String,
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub nickname: String,
}

impl SignupForm {
    pub fn into_input(self) -> (super::service::SignupInput, SignupForm) {
        let input = super::service::SignupInput {
            username: Some(self.username.clone()),
            email: Some(self.email.clone()),
            password: Some(Password::new(self.password)),
            first_name: Some(self.first_name.clone()),
            last_name: Some(self.last_name.clone()),
            nickname: Some(self.nickname.clone()),
        };
        // What the page shows again on error: everything but the password.
        (input, SignupForm { password: String::new(), ..self })
    }
}

/// A form that is only a button (plus its CSRF token).
#[derive(Debug, Default, Deserialize)]
pub struct ButtonForm {}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    pub login: String,
    pub password: String,
    pub next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextQuery {
    pub next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EmailForm {
    pub email: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NamesForm {
    pub first_name: String,
    pub last_name: String,
    pub nickname: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChangeEmailForm {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordChangeForm {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewPasswordForm {
    pub new_password: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    pub password: String,
}

/// A session to sign out (its `id_hash`), or empty for all other sessions.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SessionForm {
    pub session: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserListQuery {
    pub q: String,
    #[serde(deserialize_with = "crate::kernel::http::extract::empty_as_none")]
    pub page: Option<i64>,
}
