import nodemailer from 'nodemailer';
import { classifySmtpError, PartialRejectionError } from '../../services/email-worker/classify-smtp-error';
import { closedPort, startSmtpServer } from '../support/local-servers';

async function smtpFailure(port: number, to: string | string[], auth?: { user: string; pass: string }): Promise<unknown> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, connectionTimeout: 2000, ...(auth ? { auth } : {}) });
  try {
    await transport.sendMail({ from: 'a@example.com', to, subject: 's', text: 't' });
  } catch (error) {
    return error;
  } finally {
    transport.close();
  }
  throw new Error('expected nodemailer to throw');
}

describe('SMTP errors: 4xx transient, 5xx permanent, connection failures transient', () => {
  test('a 451 at RCPT TO (mailbox busy) is transient', async () => {
    const server = await startSmtpServer({ rcpt: () => ({ code: 451, message: 'try later' }) });
    try {
      expect(classifySmtpError(await smtpFailure(server.port, 'a@example.com'))).toMatchObject({ kind: 'transient', reason: expect.stringMatching(/^smtp 451/) });
    } finally {
      await server.close();
    }
  });

  test('a refused login (EAUTH, 535) is a credentials failure, not a message failure', async () => {
    const server = await startSmtpServer({ rejectAuth: true });
    try {
      const error = await smtpFailure(server.port, 'a@example.com', { user: 'relay', pass: 'wrong' });
      expect(error).toMatchObject({ code: 'EAUTH' });
      expect(classifySmtpError(error)).toEqual({ kind: 'credentials', reason: 'smtp 535 EAUTH' });
    } finally {
      await server.close();
    }
  });

  test('530 "authentication required" at MAIL FROM is a credentials failure', async () => {
    const server = await startSmtpServer({ mailFrom: () => ({ code: 530, message: '5.7.0 authentication required' }) });
    try {
      expect(classifySmtpError(await smtpFailure(server.port, 'a@example.com'))).toMatchObject({ kind: 'credentials', reason: expect.stringMatching(/^smtp 530/) });
    } finally {
      await server.close();
    }
  });

  test('a 550 at RCPT TO (no such mailbox) is permanent', async () => {
    const server = await startSmtpServer({ rcpt: () => ({ code: 550, message: 'no such user' }) });
    try {
      expect(classifySmtpError(await smtpFailure(server.port, 'a@example.com'))).toMatchObject({ kind: 'permanent', reason: expect.stringMatching(/^smtp 550/) });
    } finally {
      await server.close();
    }
  });

  test('a 554 after DATA is permanent and a 452 after DATA is transient', async () => {
    let code = 554;
    const server = await startSmtpServer({ data: () => ({ code, message: 'no' }) });
    try {
      expect(classifySmtpError(await smtpFailure(server.port, 'a@example.com')).kind).toBe('permanent');
      code = 452;
      expect(classifySmtpError(await smtpFailure(server.port, 'a@example.com')).kind).toBe('transient');
    } finally {
      await server.close();
    }
  });

  test('a refused connection is transient', async () => {
    expect(classifySmtpError(await smtpFailure(await closedPort(), 'a@example.com'))).toMatchObject({ kind: 'transient' });
  });

  test('a partly rejected recipient list is reported as a permanent failure, not a success', async () => {
    const server = await startSmtpServer({ rcpt: (address) => (address.startsWith('bad') ? { code: 550, message: 'no such user' } : undefined) });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: server.port, secure: false, ignoreTLS: true });
    try {
      const info = await transport.sendMail({ from: 'a@example.com', to: ['good@example.com', 'bad@example.com'], subject: 's', text: 't' });
      expect(info.rejected).toEqual(['bad@example.com']);
      const error = new PartialRejectionError(info.rejected.length, info.accepted.length);
      expect(classifySmtpError(error)).toEqual({ kind: 'permanent', reason: 'smtp refused 1 of 2 recipients' });
    } finally {
      transport.close();
      await server.close();
    }
  });
});
