import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { FaultInjector, Personality } from './faults';
import type { MessageStore } from './message-store';

/** An SMTP error with the reply code smtp-server sends back to the client. */
function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

/** SMTP logins, one per personality (any password); a session without AUTH is the primary, as before. */
const SMTP_USERS: Readonly<Record<string, Personality>> = { 'smtp-primary': 'smtp-primary', 'smtp-backup': 'smtp-backup' };

function personalityOf(session: SMTPServerSession): Personality {
  return SMTP_USERS[String(session.user ?? '')] ?? 'smtp-primary';
}

/**
 * The SMTP server nodemailer delivers to in dev and tests. Refusals for magic recipients happen at RCPT TO
 * (as real servers refuse unknown mailboxes); flaky and random faults at end of DATA, where the message id is known.
 * A personality switched down answers 421 (service not available, transient) at MAIL FROM.
 */
export function createSmtpSink(store: MessageStore, faults: FaultInjector): SMTPServer {
  return new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    // Plain-text AUTH on a local test server only: it picks a personality, it protects nothing.
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      const personality = SMTP_USERS[auth.username ?? ''];
      if (!personality) return callback(smtpError('5.7.8 unknown user (sandbox logins: smtp-primary, smtp-backup)', 535));
      callback(null, { user: personality });
    },
    logger: false,
    size: 10 * 1024 * 1024,
    onMailFrom(_address, session, callback) {
      if (faults.rejectCredentials) return callback(smtpError('5.7.0 authentication required', 530));
      if (faults.isDown(personalityOf(session))) return callback(smtpError('4.3.2 service not available, try later', 421));
      callback();
    },
    onRcptTo(address, _session, callback) {
      const recipient = address.address.toLowerCase();
      if (recipient === 'fail-permanent@sandbox.test') return callback(smtpError('5.1.1 mailbox unavailable', 550));
      if (recipient === 'fail-transient@sandbox.test') return callback(smtpError('4.2.1 mailbox busy, try later', 451));
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      simpleParser(stream)
        .then(async (mail) => {
          await faults.pause();
          const id = mail.headers.get('x-relay-message-id');
          const messageId = typeof id === 'string' ? id : undefined;
          const to = session.envelope.rcptTo.map((rcpt) => rcpt.address).join(',');
          const decision = faults.decide('email', to, messageId ?? mail.messageId ?? to);
          if (decision === 'permanent') return callback(smtpError('5.7.1 message rejected', 554));
          if (decision === 'transient') return callback(smtpError('4.3.0 temporary failure, try later', 451));
          // The raw header lines too, for the inbox page (folded lines kept as sent).
          const headers = mail.headerLines.map((header) => header.line);
          store.add({ id: messageId, channel: 'email', personality: personalityOf(session), to, content: { from: mail.from?.text, subject: mail.subject, text: mail.text, html: mail.html || undefined, headers } });
          callback();
        })
        .catch((error: Error) => callback(smtpError(`4.3.0 could not read message: ${error.message}`, 451)));
    },
  });
}
