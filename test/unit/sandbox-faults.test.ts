import { FaultInjector } from '../../services/sandbox/faults';

describe('the sandbox fails deliveries on purpose', () => {
  test('magic recipients fail the same way every time', () => {
    const faults = new FaultInjector();
    expect(faults.decide('sms', '+15005550001', 'a')).toBe('permanent');
    expect(faults.decide('sms', '+15005550002', 'a')).toBe('transient');
    expect(faults.decide('sms', '+15005550002', 'a')).toBe('transient');
    expect(faults.decide('email', 'Fail-Permanent@sandbox.test', 'a')).toBe('permanent');
    expect(faults.decide('notif', 'fail-transient', 'a')).toBe('transient');
    expect(faults.decide('sms', '+14155550100', 'a')).toBe('accept');
    expect(faults.decide('email', 'fail-permanent@example.com', 'a')).toBe('accept');
  });

  test('a flaky recipient fails the first attempt of each message only', () => {
    const faults = new FaultInjector();
    expect(faults.decide('notif', 'flaky', 'm1')).toBe('transient');
    expect(faults.decide('notif', 'flaky', 'm1')).toBe('accept');
    expect(faults.decide('notif', 'flaky', 'm2')).toBe('transient');
  });

  test('rejecting credentials is switched on and off on command, leaving the other settings alone', () => {
    const faults = new FaultInjector();
    expect(faults.configure({ rejectCredentials: true, delayMs: 5 })).toMatchObject({ rejectCredentials: true, delayMs: 5 });
    expect(faults.rejectCredentials).toBe(true);
    expect(faults.configure({ transientRate: 0.5 })).toMatchObject({ rejectCredentials: true, transientRate: 0.5 });
    expect(faults.configure({ rejectCredentials: false }).rejectCredentials).toBe(false);
  });

  test('random rates split deliveries into permanent, transient and accepted', () => {
    const rolls = [0.05, 0.15, 0.5];
    const faults = new FaultInjector(() => rolls.shift() ?? 0.99);
    expect(faults.configure({ permanentRate: 0.1, transientRate: 0.2 })).toEqual({ permanentRate: 0.1, transientRate: 0.2, delayMs: 0, rejectCredentials: false });
    expect(faults.decide('sms', '+14155550100', 'a')).toBe('permanent');
    expect(faults.decide('sms', '+14155550100', 'b')).toBe('transient');
    expect(faults.decide('sms', '+14155550100', 'c')).toBe('accept');
  });
});
