from django.db import models


class Signup(models.Model):
    email = models.EmailField()
    created = models.DateTimeField(auto_now_add=True)
    welcomed_at = models.DateTimeField(null=True, blank=True)
    job_id = models.CharField(max_length=128, blank=True)
