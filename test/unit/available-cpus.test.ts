// eslint-disable-next-line @typescript-eslint/no-require-imports
const { apiInstances, availableCpus } = require('../../services/shared/pm2/available-cpus') as {
  apiInstances: (env?: NodeJS.ProcessEnv) => number;
  availableCpus: () => number;
};

describe('PM2 instances for the API', () => {
  test('API_INSTANCES wins when it is a positive integer', () => {
    expect(apiInstances({ API_INSTANCES: '3' })).toBe(3);
  });

  test('otherwise the CPUs this process may use, never more than the host has', () => {
    expect(apiInstances({})).toBe(availableCpus());
    expect(apiInstances({ API_INSTANCES: 'max' })).toBe(availableCpus());
    expect(availableCpus()).toBeGreaterThanOrEqual(1);
    expect(availableCpus()).toBeLessThanOrEqual(require('node:os').availableParallelism());
  });
});
