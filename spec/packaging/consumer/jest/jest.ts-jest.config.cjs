// jest with ts-jest, which compiles with tsconfig.json and type-checks.
module.exports = { testEnvironment: 'node', transform: { '^.+\\.ts$': ['ts-jest', {}] } };
