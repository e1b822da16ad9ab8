// jest with babel-jest (its default transform, given babel.config.cjs).
module.exports = { testEnvironment: 'node' };
