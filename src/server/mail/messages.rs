//! What Latch writes: each message as plain text and as HTML, composed when the request
//! that causes it commits. Values from users (names, addresses) are escaped in HTML.

/// A message ready for the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn verify_email(to: &str, username: &str, link: &str, lifetime: i64) -> Message {
    let hours = (lifetime + 3599) / 3600;
    compose(
        to,
        "Confirm your email address for Latch",
        &format!("Hello {username},"),
        &[&format!(
            "To confirm that this address belongs to your Latch account, open this link within {hours} hour(s):"
        )],
        Some(link),
        "If you did not ask for this, ignore this message: nothing changes.",
    )
}

pub fn reset_password(to: &str, username: &str, link: &str, lifetime: i64) -> Message {
    let minutes = (lifetime + 59) / 60;
    compose(
        to,
        "Reset your Latch password",
        &format!("Hello {username},"),
        &[&format!(
            "Someone asked to reset the password of your Latch account. To choose a new one, open this \
             link within {minutes} minutes. It works once, and only the newest link works:"
        )],
        Some(link),
        "If it was not you, ignore this message: your password stays as it is.",
    )
}

pub fn email_changed(to: &str, username: &str) -> Message {
    compose(
        to,
        "Your Latch email address was changed",
        &format!("Hello {username},"),
        &["The email address of your Latch account was just changed, and this address will no \
           longer receive its mail."],
        None,
        "If you did not do this, reset your password at once from the sign-in page.",
    )
}

pub fn password_was_reset(to: &str, username: &str) -> Message {
    compose(
        to,
        "Your Latch password was reset",
        &format!("Hello {username},"),
        &["The password of your Latch account was just reset with a link sent to this address, \
           and every other session was signed out."],
        None,
        "If you did not do this, reset your password again and check where you are signed in.",
    )
}

/// "If this was not you": the one closing line of every notice of a change.
const NOT_YOU: &str = "If this was not you, reset your password at once from the sign-in page, then check \
     your passkeys and where you are signed in.";

pub fn passkey_added(to: &str, username: &str, passkey: &str) -> Message {
    compose(
        to,
        "A passkey was added to your Latch account",
        &format!("Hello {username},"),
        &[&format!(
            "A passkey named \"{passkey}\" was just added to your Latch account. It signs in with no \
             password and no code."
        )],
        None,
        NOT_YOU,
    )
}

pub fn totp_turned(to: &str, username: &str, on: bool) -> Message {
    let (subject, paragraph) = if on {
        (
            "Two-factor sign-in was turned on for your Latch account",
            "Two-factor sign-in was just turned on for your Latch account: signing in now asks for a \
             code from an authenticator app after the password.",
        )
    } else {
        (
            "Two-factor sign-in was turned off for your Latch account",
            "Two-factor sign-in was just turned off for your Latch account: signing in now asks for \
             the password alone.",
        )
    };
    compose(to, subject, &format!("Hello {username},"), &[paragraph], None, NOT_YOU)
}

pub fn password_changed(to: &str, username: &str) -> Message {
    compose(
        to,
        "Your Latch password was changed",
        &format!("Hello {username},"),
        &["The password of your Latch account was just changed, and every other session was signed out."],
        None,
        NOT_YOU,
    )
}

pub fn recovery_codes_low(to: &str, username: &str, left: i64) -> Message {
    let codes = if left == 1 { "1 recovery code".to_string() } else { format!("{left} recovery codes") };
    compose(
        to,
        "Your Latch recovery codes are running low",
        &format!("Hello {username},"),
        &[&format!(
            "A recovery code was just used to sign in to your Latch account or confirm a change, and \
             {codes} left. To get ten new ones, turn two-factor sign-in off and on again on your \
             profile."
        )],
        None,
        NOT_YOU,
    )
}

/// One layout for every message: greeting, paragraphs, the link on a line of its own,
/// a closing line.
fn compose(to: &str, subject: &str, greeting: &str, paragraphs: &[&str], link: Option<&str>, closing: &str) -> Message {
    let mut text = format!("{greeting}\n\n");
    let mut html = format!("<!DOCTYPE html>\n<html><body>\n<p>{}</p>\n", escape(greeting));
    for paragraph in paragraphs {
        text.push_str(paragraph);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>\n", escape(paragraph)));
    }
    if let Some(link) = link {
        text.push_str(link);
        text.push_str("\n\n");
        html.push_str(&format!("<p><a href=\"{0}\">{0}</a></p>\n", escape(link)));
    }
    text.push_str(closing);
    text.push_str("\n\n-- \nLatch\n");
    html.push_str(&format!("<p>{}</p>\n<p>Latch</p>\n</body></html>\n", escape(closing)));
    Message { to: to.to_string(), subject: subject.to_string(), text, html }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_has_the_link_in_both_bodies() {
        let m = reset_password("ada@example.org", "ada", "https://latch.example/reset-password?token=abc", 1800);
        assert!(m.text.contains("\nhttps://latch.example/reset-password?token=abc\n"));
        assert!(m.html.contains(r#"<a href="https://latch.example/reset-password?token=abc">"#));
        assert!(m.text.contains("30 minutes"));
    }

    #[test]
    fn a_notice_names_what_changed_and_escapes_it() {
        let m = passkey_added("a@example.org", "ada", "<i>key</i>");
        assert!(m.subject.contains("passkey was added"));
        assert!(m.text.contains("\"<i>key</i>\""));
        assert!(m.html.contains("&lt;i&gt;key&lt;/i&gt;") && !m.html.contains("<i>key"));
        assert!(recovery_codes_low("a@example.org", "ada", 1).text.contains("1 recovery code left"));
        assert!(recovery_codes_low("a@example.org", "ada", 3).text.contains("3 recovery codes left"));
    }

    #[test]
    fn names_are_escaped_in_html() {
        let m = email_changed("a@example.org", "<b>x</b>");
        assert!(m.html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(!m.html.contains("<b>x"));
    }
}
