// An inThread stage slower than its source: each value takes `busyUs` of CPU (the first value
// on input$), then is echoed.
const { filter, map } = require('rxjs/operators');

exports.slow = (input$) => {
  let busyUs;
  return input$.pipe(
    filter((value) => {
      if (busyUs !== undefined) return true;
      busyUs = value;
      return false;
    }),
    map((value) => {
      const end = performance.now() + busyUs / 1000;
      while (performance.now() < end);
      return value;
    }),
  );
};
