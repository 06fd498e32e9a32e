// Nothing to do now: the check runs in the post step.
console.log("the revocation check runs in this action's post step");
